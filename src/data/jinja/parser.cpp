#include "parser.h"

#include <algorithm>
#include <set>

#include "builtins.h"
#include "scoping.h"
#include "lightpeft/core/error.h"

namespace lightpeft::jinja {

namespace {

const std::set<std::string> kUnsupportedTags = {"call", "block", "extends", "include", "import", "from",
                                                "autoescape"};

std::string describe(const Token& t) {
  switch (t.type) {
    case Tok::data: return "template text";
    case Tok::var_begin: return "'{{'";
    case Tok::var_end: return "end of print statement '}}'";
    case Tok::block_begin: return "'{%'";
    case Tok::block_end: return "end of statement block '%}'";
    case Tok::name: return "'" + t.text + "'";
    case Tok::string: return "string literal";
    case Tok::integer: return "integer " + t.text;
    case Tok::floating: return "float " + t.text;
    case Tok::op: return "'" + t.text + "'";
    case Tok::eof: return "end of template";
  }
  return "token";
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " or " : ", ";
    out += "'" + names[i] + "'";
  }
  return out;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& origin) : toks_(std::move(tokens)), origin_(origin) {}

  Program run() {
    Program p;
    p.body = subparse({});
    if (cur().type != Tok::eof) fail(cur(), "unexpected " + describe(cur()));
    check_filters(p.body, false);
    return p;
  }

 private:
  // ---- token stream ------------------------------------------------------------------------------
  const Token& cur() const { return toks_[i_]; }
  const Token& look(size_t n = 1) const { return toks_[std::min(i_ + n, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  bool is_op(const char* op) const { return cur().type == Tok::op && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == Tok::name && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail(const Token& at, const std::string& message) const {
    throw Error(located(origin_, at.pos, message));
  }
  [[noreturn]] void fail_at(Pos pos, const std::string& message) const {
    throw Error(located(origin_, pos, message));
  }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(cur(), std::string("expected '") + op + "', got " + describe(cur()));
    next();
  }
  const Token& expect(Tok type, const char* what) {
    if (cur().type != type) fail(cur(), std::string("expected ") + what + ", got " + describe(cur()));
    return next();
  }
  std::string expect_name() { return expect(Tok::name, "a name").text; }

  // ---- nesting limits ----------------------------------------------------------------------------
  struct Guard {
    Parser& p;
    explicit Guard(Parser& parser) : p(parser) {
      if (++p.nesting_ > kMaxNesting) {
        p.fail(p.cur(), "the template nests brackets, operators or blocks deeper than " +
                            std::to_string(kMaxNesting) + " levels");
      }
    }
    ~Guard() { --p.nesting_; }
  };

  ExprPtr node(ExprType type, Pos pos) {
    auto e = std::make_unique<Expr>();
    e->type = type;
    e->pos = pos;
    return e;
  }
  // Sets e's depth from its children; refuses expression trees deeper than kMaxExprDepth (a chain
  // like a+b+c+... nests one level per operator).
  ExprPtr done(ExprPtr e) {
    int d = 0;
    for (const auto& a : e->args) {
      if (a) d = std::max(d, a->depth);
    }
    for (const auto& kv : e->kwargs) d = std::max(d, kv.second->depth);
    e->depth = d + 1;
    if (e->depth > kMaxExprDepth) {
      fail_at(e->pos, "expression nested deeper than " + std::to_string(kMaxExprDepth) + " levels");
    }
    return e;
  }
  ExprPtr binary(ExprType type, Pos pos, ExprPtr a, ExprPtr b, std::string name = {}) {
    auto e = node(type, pos);
    e->name = std::move(name);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return done(std::move(e));
  }

  // ---- statements --------------------------------------------------------------------------------
  struct Open {
    std::string tag;
    Pos pos;
    std::vector<std::string> ends;
  };

  Body subparse(const std::vector<std::string>& ends) {
    Body body;
    while (cur().type != Tok::eof) {
      const Token& t = cur();
      if (t.type == Tok::data) {
        auto s = std::make_unique<Stmt>();
        s->type = StmtType::text;
        s->pos = t.pos;
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == Tok::var_begin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->type = StmtType::print;
        s->pos = cur().pos;
        s->expr = parse_tuple();
        expect(Tok::var_end, "end of print statement '}}'");
        body.push_back(std::move(s));
      } else if (t.type == Tok::block_begin) {
        next();
        if (cur().type == Tok::name && std::find(ends.begin(), ends.end(), cur().text) != ends.end()) {
          return body;
        }
        parse_statement(body);
        expect(Tok::block_end, "end of statement block '%}'");
      } else {
        fail(t, "unexpected " + describe(t));
      }
    }
    return body;
  }

  // The body of a tag up to one of `ends` (left as the current token).
  Body parse_statements(const std::string& tag, Pos pos, const std::vector<std::string>& ends) {
    skip_op(":");
    expect(Tok::block_end, "end of statement block '%}'");
    open_.push_back({tag, pos, ends});
    Body body = subparse(ends);
    if (cur().type == Tok::eof) {
      fail_at(pos, "the '" + tag + "' tag opened here is never closed (expected " + quoted_list(ends) +
                       " before the end of the template)");
    }
    open_.pop_back();
    return body;
  }

  void parse_statement(Body& out) {
    const Token& t = cur();
    if (t.type != Tok::name) fail(t, "expected a tag name after '{%', got " + describe(t));
    Guard guard(*this);
    const std::string tag = t.text;
    const Pos pos = t.pos;
    if (tag == "for") return out.push_back(parse_for());
    if (tag == "if") return out.push_back(parse_if());
    if (tag == "set") return out.push_back(parse_set());
    if (tag == "macro") return out.push_back(parse_macro());
    if (tag == "filter") return out.push_back(parse_filter_block());
    if (tag == "with") return out.push_back(parse_with());
    if (tag == "print") return parse_print(out);
    if (tag == "generation") {
      next();
      auto s = std::make_unique<Stmt>();
      s->type = StmtType::scope_body;
      s->pos = pos;
      s->body = parse_statements(tag, pos, {"endgeneration"});
      next();
      return out.push_back(std::move(s));
    }
    if (tag == "break" || tag == "continue") {
      next();
      if (loop_depth_ == 0) fail_at(pos, "'" + tag + "' outside of a for loop");
      auto s = std::make_unique<Stmt>();
      s->type = tag == "break" ? StmtType::break_ : StmtType::continue_;
      s->pos = pos;
      return out.push_back(std::move(s));
    }
    if (kUnsupportedTags.count(tag)) {
      fail(t, "the '{% " + tag + " %}' tag is not supported in chat templates by lightpeft");
    }
    for (auto it = open_.rbegin(); it != open_.rend(); ++it) {
      if (std::find(it->ends.begin(), it->ends.end(), tag) != it->ends.end()) {
        const Open& inner = open_.back();
        fail(t, "unexpected '{% " + tag + " %}': the innermost open tag is '" + inner.tag + "' (line " +
                    std::to_string(inner.pos.line) + "), which expects " + quoted_list(inner.ends));
      }
    }
    if (!open_.empty()) {
      const Open& inner = open_.back();
      fail(t, "unknown tag '" + tag + "' (the innermost open tag is '" + inner.tag + "', which expects " +
                  quoted_list(inner.ends) + ")");
    }
    fail(t, "unknown tag '" + tag + "'");
  }

  std::unique_ptr<Stmt> parse_for() {
    auto s = std::make_unique<Stmt>();
    s->type = StmtType::for_;
    s->pos = next().pos;
    // Targets: names separated by commas, up to `in`.
    while (true) {
      if (is_op("(")) fail(cur(), "parenthesised loop targets are not supported; write 'for a, b in ...'");
      const Token& name = expect(Tok::name, "a loop variable name");
      if (is_constant_name(name.text)) fail(name, "cannot assign to '" + name.text + "'");
      s->targets.push_back({name.text, "", name.pos});
      if (!skip_op(",")) break;
      s->unpack = true;
      if (is_name("in")) break;
    }
    if (!skip_name("in")) fail(cur(), "expected 'in' in the for tag, got " + describe(cur()));
    s->expr = parse_tuple(false, false, {"recursive"});
    if (skip_name("if")) s->loop_filter = parse_expression();
    if (is_name("recursive")) fail(cur(), "recursive for loops are not supported by lightpeft");
    ++loop_depth_;
    s->body = parse_statements("for", s->pos, {"endfor", "else"});
    --loop_depth_;
    if (next().text == "else") {
      s->else_body = parse_statements("for", s->pos, {"endfor"});
      next();
    }
    return s;
  }

  std::unique_ptr<Stmt> parse_if() {
    auto s = std::make_unique<Stmt>();
    s->type = StmtType::if_;
    s->pos = next().pos;
    while (true) {
      s->conds.push_back(parse_tuple(false, false));
      s->bodies.push_back(parse_statements("if", s->pos, {"elif", "else", "endif"}));
      const std::string end = next().text;
      if (end == "elif") continue;
      if (end == "else") {
        s->else_body = parse_statements("if", s->pos, {"endif"});
        next();
      }
      break;
    }
    return s;
  }

  static bool is_constant_name(const std::string& n) {
    return n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None";
  }

  std::unique_ptr<Stmt> parse_set() {
    auto s = std::make_unique<Stmt>();
    s->pos = next().pos;
    while (true) {
      const Token& name = expect(Tok::name, "a variable name");
      if (is_constant_name(name.text)) fail(name, "cannot assign to '" + name.text + "'");
      Target target{name.text, "", name.pos};
      if (skip_op(".")) target.attr = expect_name();
      s->targets.push_back(std::move(target));
      if (!is_op(",")) break;
      next();
      s->unpack = true;
      if (is_op("=") || cur().type == Tok::block_end) break;
    }
    if (skip_op("=")) {
      s->type = StmtType::set;
      s->expr = parse_tuple();
      return s;
    }
    if (cur().type != Tok::block_end && !is_op("|")) {
      fail(cur(), "expected '=' or the end of the set tag, got " + describe(cur()));
    }
    if (s->targets.size() != 1 || !s->targets[0].attr.empty()) {
      fail(cur(), "a block '{% set %}' assigns to one plain name");
    }
    s->type = StmtType::set_block;
    parse_filter_chain(s->filters, false);
    s->body = parse_statements("set", s->pos, {"endset"});
    next();
    return s;
  }

  std::unique_ptr<Stmt> parse_macro() {
    auto s = std::make_unique<Stmt>();
    s->type = StmtType::macro;
    s->pos = next().pos;
    auto m = std::make_unique<MacroDef>();
    m->pos = s->pos;
    m->name = expect_name();
    expect_op("(");
    while (!is_op(")")) {
      if (!m->params.empty()) expect_op(",");
      if (is_op(")")) break;
      const Token& param = expect(Tok::name, "a parameter name");
      m->params.push_back(param.text);
      if (skip_op("=")) {
        m->defaults.push_back(parse_expression());
      } else {
        if (std::any_of(m->defaults.begin(), m->defaults.end(), [](const ExprPtr& e) { return e != nullptr; })) {
          fail(param, "non-default argument follows default argument");
        }
        m->defaults.push_back(nullptr);
      }
    }
    next();
    // A macro body is a new frame: loop controls of an enclosing loop do not reach into it.
    const int saved_loops = loop_depth_;
    loop_depth_ = 0;
    m->body = parse_statements("macro", s->pos, {"endmacro"});
    loop_depth_ = saved_loops;
    next();
    s->macro = std::move(m);
    return s;
  }

  std::unique_ptr<Stmt> parse_filter_block() {
    auto s = std::make_unique<Stmt>();
    s->type = StmtType::filter_block;
    s->pos = next().pos;
    parse_filter_chain(s->filters, true);
    s->body = parse_statements("filter", s->pos, {"endfilter"});
    next();
    return s;
  }

  std::unique_ptr<Stmt> parse_with() {
    auto s = std::make_unique<Stmt>();
    s->type = StmtType::with;
    s->pos = next().pos;
    while (cur().type != Tok::block_end) {
      if (!s->targets.empty()) expect_op(",");
      const Token& name = expect(Tok::name, "a variable name");
      s->targets.push_back({name.text, "", name.pos});
      expect_op("=");
      s->conds.push_back(parse_expression());
    }
    s->body = parse_statements("with", s->pos, {"endwith"});
    next();
    return s;
  }

  void parse_print(Body& out) {
    const Pos pos = next().pos;
    bool first = true;
    while (cur().type != Tok::block_end) {
      if (!first) expect_op(",");
      first = false;
      auto s = std::make_unique<Stmt>();
      s->type = StmtType::print;
      s->pos = pos;
      s->expr = parse_expression();
      out.push_back(std::move(s));
    }
  }

  // `| name(args) | name ...` (or, in filter blocks, starting without the first '|').
  void parse_filter_chain(std::vector<ExprPtr>& out, bool start_inline) {
    while (is_op("|") || start_inline) {
      if (!start_inline) next();
      start_inline = false;
      out.push_back(parse_filter_call(nullptr));
    }
  }

  // ---- expressions -------------------------------------------------------------------------------
  bool is_tuple_end(const std::vector<std::string>& extra) const {
    const Token& t = cur();
    if (t.type == Tok::var_end || t.type == Tok::block_end || (t.type == Tok::op && t.text == ")")) return true;
    return t.type == Tok::name && std::find(extra.begin(), extra.end(), t.text) != extra.end();
  }

  ExprPtr parse_tuple(bool explicit_parens = false, bool with_condexpr = true,
                      const std::vector<std::string>& extra_end = {}) {
    const Pos pos = cur().pos;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      items.push_back(with_condexpr ? parse_condexpr() : parse_or());
      if (is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) fail(cur(), "expected an expression, got " + describe(cur()));
    }
    auto e = node(ExprType::tuple, pos);
    e->args = std::move(items);
    return done(std::move(e));
  }

  ExprPtr parse_expression() { return parse_condexpr(); }

  ExprPtr parse_condexpr() {
    Guard guard(*this);
    Pos pos = cur().pos;
    ExprPtr expr1 = parse_or();
    while (skip_name("if")) {
      ExprPtr test = parse_or();
      ExprPtr other;
      if (skip_name("else")) other = parse_condexpr();
      auto e = node(ExprType::condexpr, pos);
      e->args.push_back(std::move(expr1));
      e->args.push_back(std::move(test));
      e->args.push_back(std::move(other));
      expr1 = done(std::move(e));
      pos = cur().pos;
    }
    return expr1;
  }

  ExprPtr parse_or() {
    const Pos pos = cur().pos;
    ExprPtr left = parse_and();
    while (skip_name("or")) left = binary(ExprType::or_, pos, std::move(left), parse_and());
    return left;
  }

  ExprPtr parse_and() {
    const Pos pos = cur().pos;
    ExprPtr left = parse_not();
    while (skip_name("and")) left = binary(ExprType::and_, pos, std::move(left), parse_not());
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      Guard guard(*this);
      const Pos pos = next().pos;
      auto e = node(ExprType::not_, pos);
      e->args.push_back(parse_not());
      return done(std::move(e));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Pos pos = cur().pos;
    ExprPtr first = parse_math1();
    std::vector<ExprPtr> operands;
    std::vector<std::string> ops;
    while (true) {
      const Token& t = cur();
      if (t.type == Tok::op && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
                                t.text == ">" || t.text == ">=")) {
        ops.push_back(next().text);
      } else if (is_name("in")) {
        next();
        ops.push_back("in");
      } else if (is_name("not") && look().type == Tok::name && look().text == "in") {
        next();
        next();
        ops.push_back("notin");
      } else {
        break;
      }
      operands.push_back(parse_math1());
    }
    if (ops.empty()) return first;
    auto e = node(ExprType::compare, pos);
    e->args.push_back(std::move(first));
    for (auto& o : operands) e->args.push_back(std::move(o));
    e->ops = std::move(ops);
    return done(std::move(e));
  }

  ExprPtr parse_math1() {
    const Pos pos = cur().pos;
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const std::string op = next().text;
      left = binary(ExprType::binary, pos, std::move(left), parse_concat(), op);
    }
    return left;
  }

  ExprPtr parse_concat() {
    const Pos pos = cur().pos;
    std::vector<ExprPtr> args;
    args.push_back(parse_math2());
    while (skip_op("~")) args.push_back(parse_math2());
    if (args.size() == 1) return std::move(args[0]);
    auto e = node(ExprType::concat, pos);
    e->args = std::move(args);
    return done(std::move(e));
  }

  ExprPtr parse_math2() {
    const Pos pos = cur().pos;
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string op = next().text;
      left = binary(ExprType::binary, pos, std::move(left), parse_pow(), op);
    }
    return left;
  }

  ExprPtr parse_pow() {
    const Pos pos = cur().pos;
    ExprPtr left = parse_unary(true);
    while (skip_op("**")) left = binary(ExprType::binary, pos, std::move(left), parse_unary(true), "**");
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    const Pos pos = cur().pos;
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      Guard guard(*this);
      const bool neg = next().text == "-";
      e = node(neg ? ExprType::neg : ExprType::pos, pos);
      e->args.push_back(parse_unary(false));
      e = done(std::move(e));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    if (t.type == Tok::name) {
      next();
      if (t.text == "true" || t.text == "True") return constant(Value::boolean(true), t.pos);
      if (t.text == "false" || t.text == "False") return constant(Value::boolean(false), t.pos);
      if (t.text == "none" || t.text == "None") return constant(Value::none(), t.pos);
      auto e = node(ExprType::name, t.pos);
      e->name = t.text;
      return done(std::move(e));
    }
    if (t.type == Tok::string) {
      const Pos pos = t.pos;
      std::string s;
      while (cur().type == Tok::string) s += next().text;  // adjacent literals concatenate
      return constant(Value::string(std::move(s)), pos);
    }
    if (t.type == Tok::integer) {
      next();
      return constant(Value::integer(t.ival), t.pos);
    }
    if (t.type == Tok::floating) {
      next();
      return constant(Value::floating(t.fval), t.pos);
    }
    if (t.type == Tok::op && t.text == "(") {
      next();
      ExprPtr e = parse_tuple(true);
      expect_op(")");
      return e;
    }
    if (t.type == Tok::op && t.text == "[") {
      const Pos pos = next().pos;
      auto e = node(ExprType::list, pos);
      while (!is_op("]")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("]")) break;
        e->args.push_back(parse_expression());
      }
      next();
      return done(std::move(e));
    }
    if (t.type == Tok::op && t.text == "{") {
      const Pos pos = next().pos;
      auto e = node(ExprType::dict, pos);
      while (!is_op("}")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("}")) break;
        e->args.push_back(parse_expression());
        expect_op(":");
        e->args.push_back(parse_expression());
      }
      next();
      return done(std::move(e));
    }
    fail(t, "unexpected " + describe(t));
  }

  ExprPtr constant(Value v, Pos pos) {
    auto e = node(ExprType::constant, pos);
    e->value = std::move(v);
    return done(std::move(e));
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        next();
        e = parse_filter_call(std::move(e));
      } else if (is_name("is")) {
        e = parse_test(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj) {
    const Token& t = next();
    if (t.text == ".") {
      const Token& attr = cur();
      if (attr.type == Tok::name) {
        next();
        auto e = node(ExprType::getattr, t.pos);
        e->name = attr.text;
        e->args.push_back(std::move(obj));
        return done(std::move(e));
      }
      if (attr.type != Tok::integer) fail(attr, "expected a name or a number after '.', got " + describe(attr));
      next();
      auto e = node(ExprType::getitem, t.pos);
      e->args.push_back(std::move(obj));
      e->args.push_back(constant(Value::integer(attr.ival), attr.pos));
      return done(std::move(e));
    }
    // '['
    std::vector<ExprPtr> keys;
    while (!is_op("]")) {
      if (!keys.empty()) expect_op(",");
      keys.push_back(parse_subscribed());
    }
    next();
    auto e = node(ExprType::getitem, t.pos);
    e->args.push_back(std::move(obj));
    if (keys.size() == 1) {
      e->args.push_back(std::move(keys[0]));
    } else {
      auto tup = node(ExprType::tuple, t.pos);
      tup->args = std::move(keys);
      e->args.push_back(done(std::move(tup)));
    }
    return done(std::move(e));
  }

  ExprPtr parse_subscribed() {
    const Pos pos = cur().pos;
    std::vector<ExprPtr> parts;
    if (is_op(":")) {
      next();
      parts.push_back(nullptr);
    } else {
      ExprPtr e = parse_expression();
      if (!is_op(":")) return e;
      next();
      parts.push_back(std::move(e));
    }
    if (is_op(":") || is_op("]") || is_op(",")) {
      parts.push_back(nullptr);
    } else {
      parts.push_back(parse_expression());
    }
    if (skip_op(":")) {
      parts.push_back(is_op("]") || is_op(",") ? nullptr : parse_expression());
    } else {
      parts.push_back(nullptr);
    }
    auto e = node(ExprType::slice, pos);
    e->args = std::move(parts);
    return done(std::move(e));
  }

  // Call arguments into e (after args[0]): positional, then name=value.
  void parse_call_args(Expr& e) {
    const Token& open = cur();
    expect_op("(");
    bool need_comma = false;
    while (!is_op(")")) {
      if (need_comma) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (is_op("*") || is_op("**")) fail(cur(), "*args and **kwargs in calls are not supported by lightpeft");
      if (e.args.size() + e.kwargs.size() > 64) fail(cur(), "more than 64 arguments in one call");
      if (cur().type == Tok::name && look().type == Tok::op && look().text == "=") {
        std::string key = next().text;
        next();
        e.kwargs.emplace_back(std::move(key), parse_expression());
      } else {
        if (!e.kwargs.empty()) fail(open, "a positional argument follows a keyword argument");
        e.args.push_back(parse_expression());
      }
      need_comma = true;
    }
    next();
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = node(ExprType::call, callee->pos);  // errors point at the function, not at '('

    e->args.push_back(std::move(callee));
    parse_call_args(*e);
    return done(std::move(e));
  }

  // A filter name and its arguments; `input` may be null (filter blocks, block sets).
  ExprPtr parse_filter_call(ExprPtr input) {
    const Token& name = expect(Tok::name, "a filter name");
    auto e = node(ExprType::filter, name.pos);
    e->name = name.text;
    while (is_op(".")) {
      next();
      e->name += "." + expect_name();
    }
    e->args.push_back(std::move(input));
    if (is_op("(")) parse_call_args(*e);
    return done(std::move(e));
  }

  ExprPtr parse_test(ExprPtr obj) {
    const Token& is = next();
    bool negated = skip_name("not");
    const Token& name = expect(Tok::name, "a test name");
    auto e = node(ExprType::test, is.pos);
    e->name = name.text;
    while (is_op(".")) {
      next();
      e->name += "." + expect_name();
    }
    e->negated = negated;
    e->args.push_back(std::move(obj));
    const Token& t = cur();
    if (is_op("(")) {
      parse_call_args(*e);
    } else if ((t.type == Tok::name || t.type == Tok::string || t.type == Tok::integer ||
                t.type == Tok::floating || (t.type == Tok::op && (t.text == "(" || t.text == "[" || t.text == "{"))) &&
               !(t.type == Tok::name && (t.text == "else" || t.text == "or" || t.text == "and"))) {
      if (t.type == Tok::name && t.text == "is") fail(t, "you cannot chain multiple tests with 'is'");
      e->args.push_back(parse_postfix(parse_primary()));
    }
    return done(std::move(e));
  }

  // ---- filters and tests: unknown names are errors here, except inside if-branches and
  // conditional expressions, where jinja2 only fails if the branch runs ----------------------------
  void check_expr(const Expr* e, bool soft) {
    if (!e) return;
    if (e->type == ExprType::condexpr) soft = true;
    if (!soft && e->type == ExprType::filter && !has_filter(e->name)) {
      fail_at(e->pos, jinja2_has_filter(e->name) ? "the filter '" + e->name + "' is not supported by lightpeft"
                                                 : "unknown filter '" + e->name + "'");
    }
    if (!soft && e->type == ExprType::test && !has_test(e->name)) {
      fail_at(e->pos, jinja2_has_test(e->name) ? "the test '" + e->name + "' is not supported by lightpeft"
                                               : "unknown test '" + e->name + "'");
    }
    for (const auto& a : e->args) check_expr(a.get(), soft);
    for (const auto& kv : e->kwargs) check_expr(kv.second.get(), soft);
  }

  void check_filters(const Body& body, bool soft) {
    for (const auto& s : body) {
      switch (s->type) {
        case StmtType::if_:
          for (const auto& c : s->conds) check_expr(c.get(), true);
          for (const auto& b : s->bodies) check_filters(b, true);
          check_filters(s->else_body, true);
          break;
        case StmtType::for_:
          check_expr(s->expr.get(), soft);
          check_expr(s->loop_filter.get(), false);
          check_filters(s->body, false);
          check_filters(s->else_body, false);
          break;
        case StmtType::macro:
          for (const auto& d : s->macro->defaults) check_expr(d.get(), false);
          check_filters(s->macro->body, false);
          break;
        case StmtType::with:
          for (const auto& c : s->conds) check_expr(c.get(), soft);
          check_filters(s->body, false);
          break;
        default:
          check_expr(s->expr.get(), soft);
          for (const auto& f : s->filters) check_expr(f.get(), soft);
          check_filters(s->body, soft);
          break;
      }
    }
  }

  std::vector<Token> toks_;
  size_t i_ = 0;
  const std::string& origin_;
  int nesting_ = 0;
  int loop_depth_ = 0;
  std::vector<Open> open_;
};

}  // namespace

Program parse_template(std::string_view source, const std::string& origin) {
  Program program = Parser(tokenize(source, origin), origin).run();
  analyze_scopes(program);
  return program;
}

}  // namespace lightpeft::jinja
