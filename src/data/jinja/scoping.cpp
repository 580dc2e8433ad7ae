#include "scoping.h"

#include <map>
#include <set>

namespace lightpeft::jinja {

namespace {

enum class Load { param, resolve, alias, undefined };

// One frame's symbol table, as jinja2's Symbols: refs are the names the frame (or its if-branches)
// touches, with how each is initialised on entry.
struct Symbols {
  const Symbols* parent = nullptr;
  std::map<std::string, Load> refs;
  std::set<std::string> stores;

  bool find_ref(const std::string& name) const {
    for (const Symbols* s = this; s; s = s->parent) {
      if (s->refs.count(name)) return true;
    }
    return false;
  }
  void load(const std::string& name) {
    if (!find_ref(name)) refs[name] = Load::resolve;
  }
  void store(const std::string& name) {
    stores.insert(name);
    if (refs.count(name)) return;
    refs[name] = parent && parent->find_ref(name) ? Load::alias : Load::undefined;
  }
  void param(const std::string& name) {
    stores.insert(name);
    refs[name] = Load::param;
  }
  // A name assigned in some branches of an if (but not before it) is read from outside on entry.
  void branch_update(const std::vector<Symbols>& branches) {
    std::set<std::string> partial;
    for (const auto& b : branches) partial.insert(b.stores.begin(), b.stores.end());
    for (const auto& s : stores) partial.erase(s);
    for (const auto& b : branches) {
      for (const auto& [k, v] : b.refs) refs[k] = v;
      stores.insert(b.stores.begin(), b.stores.end());
    }
    for (const auto& name : partial) {
      refs[name] = parent && parent->find_ref(name) ? Load::alias : Load::resolve;
    }
  }
  std::vector<std::string> undefined_names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : refs) {
      if (v == Load::undefined) out.push_back(k);
    }
    return out;
  }
};


// jinja2's FrameSymbolVisitor over an expression: every name read.
void visit_expr(const Expr* e, Symbols& sym) {
  if (!e) return;
  if (e->type == ExprType::name) sym.load(e->name);
  for (const auto& a : e->args) visit_expr(a.get(), sym);
  for (const auto& kv : e->kwargs) visit_expr(kv.second.get(), sym);
}

void visit_targets(const std::vector<Target>& targets, Symbols& sym) {
  for (const Target& t : targets) {
    if (t.attr.empty()) sym.store(t.name);
    else sym.load(t.name);  // ns.attr = ... reads ns
  }
}

void visit_stmt(Stmt& s, Symbols& sym);

// An if with conditions conds[i] and bodies[i] from `first` on: jinja2 nests each elif as an If in
// the elif list of the one before.
void visit_if(Stmt& s, size_t first, bool with_else, Symbols& sym) {
  visit_expr(s.conds[first].get(), sym);
  auto branch = [&](auto&& fill) {
    Symbols b = sym;
    fill(b);
    return b;
  };
  std::vector<Symbols> branches;
  branches.push_back(branch([&](Symbols& b) {
    for (auto& st : s.bodies[first]) visit_stmt(*st, b);
  }));
  branches.push_back(branch([&](Symbols& b) {
    for (size_t i = first + 1; i < s.conds.size(); ++i) visit_if(s, i, false, b);
  }));
  branches.push_back(branch([&](Symbols& b) {
    if (with_else) {
      for (auto& st : s.else_body) visit_stmt(*st, b);
    }
  }));
  sym.branch_update(branches);
}

// Frames nested in `s` are analysed here, with `sym` (complete for the enclosing frame only once
// the whole enclosing body has been visited) as their parent: see analyze_nested.
void visit_stmt(Stmt& s, Symbols& sym) {
  switch (s.type) {
    case StmtType::print: visit_expr(s.expr.get(), sym); break;
    case StmtType::if_: visit_if(s, 0, true, sym); break;
    case StmtType::for_: visit_expr(s.expr.get(), sym); break;  // the body is a frame of its own
    case StmtType::set:
      visit_expr(s.expr.get(), sym);
      visit_targets(s.targets, sym);
      break;
    case StmtType::set_block: visit_targets(s.targets, sym); break;
    case StmtType::macro: sym.store(s.macro->name); break;
    case StmtType::filter_block:
      for (const auto& f : s.filters) visit_expr(f.get(), sym);
      break;
    case StmtType::with:
      for (const auto& c : s.conds) visit_expr(c.get(), sym);
      break;
    default: break;
  }
}

void analyze_nested(Body& body, const Symbols& frame);

std::vector<std::string> analyze_child(Body& body, const Symbols& parent, const std::vector<std::string>& params) {
  Symbols sym;
  sym.parent = &parent;
  for (const auto& p : params) sym.param(p);
  for (auto& st : body) visit_stmt(*st, sym);
  analyze_nested(body, sym);
  return sym.undefined_names();
}

// The frames inside `body` (whose own frame is `frame`), including those in if-branches.
void analyze_nested(Body& body, const Symbols& frame) {
  for (auto& sp : body) {
    Stmt& s = *sp;
    switch (s.type) {
      case StmtType::if_:
        for (auto& b : s.bodies) analyze_nested(b, frame);
        analyze_nested(s.else_body, frame);
        break;
      case StmtType::for_: {
        std::vector<std::string> params;
        for (const auto& t : s.targets) params.push_back(t.name);
        params.push_back("loop");
        s.frame_undefined = analyze_child(s.body, frame, params);
        s.else_undefined = analyze_child(s.else_body, frame, {});
        break;
      }
      case StmtType::macro: {
        Symbols sym;
        sym.parent = &frame;
        for (const auto& p : s.macro->params) sym.param(p);
        for (const auto& d : s.macro->defaults) visit_expr(d.get(), sym);
        for (auto& st : s.macro->body) visit_stmt(*st, sym);
        analyze_nested(s.macro->body, sym);
        s.macro->frame_undefined = sym.undefined_names();
        break;
      }
      case StmtType::set_block:
      case StmtType::filter_block:
      case StmtType::scope_body: s.frame_undefined = analyze_child(s.body, frame, {}); break;
      case StmtType::with: {
        std::vector<std::string> params;
        for (const auto& t : s.targets) params.push_back(t.name);
        s.frame_undefined = analyze_child(s.body, frame, params);
        break;
      }
      default: break;
    }
  }
}

}  // namespace

void analyze_scopes(Program& program) {
  Symbols root;
  for (auto& st : program.body) visit_stmt(*st, root);
  analyze_nested(program.body, root);
  program.frame_undefined = root.undefined_names();
}

}  // namespace lightpeft::jinja
