#include "lightpeft/tokenizers/bpe_model.h"

#include <fstream>
#include <queue>
#include <utility>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {
namespace {

constexpr size_t kCacheCapacity = 10000;
constexpr size_t kCacheMaxWordBytes = 256;  // longer words (whole sentences without a pre-tokenizer) are not kept

// One symbol of a word being merged: a doubly linked list over a vector, as HF's Word.
struct Symbol {
  int64_t id;
  int64_t prev;
  int64_t next;
  uint32_t begin, end;  // bytes of the word
  bool removed = false;
};

struct QueuedMerge {
  int64_t rank;
  int64_t pos;
  int64_t new_id;
  // priority_queue pops the largest: make that the lowest rank, then the leftmost position.
  bool operator<(const QueuedMerge& other) const {
    return rank != other.rank ? rank > other.rank : pos > other.pos;
  }
};

}  // namespace

BpeModel::BpeModel(Vocab vocab, const std::vector<BpeMerge>& merges, const std::string& source,
                   BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  if (options_.unk_token) {
    unk_id_ = vocab_.find(*options_.unk_token);
    LP_CHECK(unk_id_.has_value(), source, ": unk_token '", *options_.unk_token,
             "' is not in the vocabulary (expected it there)");
  }
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const BpeMerge& m = merges[rank];
    auto lookup = [&](const std::string& token) {
      auto id = vocab_.find(token);
      LP_CHECK(id.has_value(), source, " ", m.line, ": merge '", m.left, " ", m.right,
               "' uses token '", token, "', which is not in the vocabulary (expected every merge ",
               "part and result in the vocabulary)");
      return *id;
    };
    const int64_t left = lookup(m.left);
    const int64_t right = lookup(m.right);
    const int64_t merged = lookup(m.left + m.right);
    // A pair listed twice keeps its last rank: HF collects the merges into a map in order.
    merges_[pair_key(left, right)] = MergeTarget{static_cast<int64_t>(rank), merged};
  }
  byte_ids_.fill(-1);
  if (options_.byte_fallback) {
    static const char* const kHex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
      const std::string token = std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
      if (auto id = vocab_.find(token)) byte_ids_[static_cast<size_t>(b)] = *id;
    }
  }
}

BpeModel::BpeModel(BpeModel&& other) noexcept
    : vocab_(std::move(other.vocab_)),
      options_(std::move(other.options_)),
      unk_id_(other.unk_id_),
      byte_ids_(other.byte_ids_),
      merges_(std::move(other.merges_)),
      cache_(std::move(other.cache_)) {}

void BpeModel::tokenize_word(const std::string& word, std::vector<int64_t>& ids) const {
  if (word.empty()) return;
  std::vector<ModelToken> tokens;
  tokenize(word, tokens);
  for (const ModelToken& t : tokens) ids.push_back(t.id);
}

void BpeModel::tokenize(std::string_view word, std::vector<ModelToken>& tokens) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto id = vocab_.find(std::string(word))) {
      tokens.push_back({*id, 0, static_cast<uint32_t>(word.size())});
      return;
    }
  }
  const bool cacheable = word.size() < kCacheMaxWordBytes;
  std::string key;
  if (cacheable) {
    key.assign(word);
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      tokens.insert(tokens.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<ModelToken> result = merge_word(word);
  tokens.insert(tokens.end(), result.begin(), result.end());
  if (!cacheable) return;
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() < kCacheCapacity) cache_.emplace(std::move(key), std::move(result));
}

std::vector<ModelToken> BpeModel::merge_word(std::string_view word) const {
  // Initial symbols: one per character, as HF's merge_word. A character outside the vocab becomes
  // its byte tokens (byte_fallback, when all of them exist), else joins the pending unk symbol,
  // which is flushed before the next known character (not before byte tokens: HF's order).
  std::vector<Symbol> symbols;
  auto add = [&](int64_t id, size_t begin, size_t end) {
    const auto index = static_cast<int64_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, static_cast<uint32_t>(begin), static_cast<uint32_t>(end)});
  };
  // HF's Word keeps byte lengths only and derives offsets from them in order, so a symbol's offsets
  // are where it lands, not where its characters were (they differ only in HF's odd case above).
  size_t cursor = 0;
  auto add_len = [&](int64_t id, size_t length) {
    add(id, cursor, cursor + length);
    cursor += length;
  };
  bool unk = false;  // an unk symbol is pending
  size_t unk_length = 0;
  std::string ch;
  size_t pos = 0;
  while (pos < word.size()) {
    size_t length = 0;
    unicode::code_point_at(word, pos, &length);
    ch.assign(word.substr(pos, length));
    pos += length;
    if (auto id = vocab_.find(ch)) {
      if (unk) {
        add_len(*unk_id_, unk_length);
        unk = false;
      }
      add_len(*id, length);
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        for (char c : ch) add_len(byte_ids_[static_cast<unsigned char>(c)], 1);
        continue;
      }
    }
    if (!unk_id_) continue;
    if (unk && options_.fuse_unk) {
      unk_length += length;
    } else {
      if (unk) add_len(*unk_id_, unk_length);
      unk = true;
      unk_length = length;
    }
  }
  if (unk) add_len(*unk_id_, unk_length);
  if (symbols.empty()) return {};
  symbols.back().next = -1;

  auto target = [&](int64_t left, int64_t right) -> const MergeTarget* {
    auto it = merges_.find(pair_key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  };
  std::priority_queue<QueuedMerge> queue;
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const MergeTarget* t = target(symbols[i].id, symbols[i + 1].id)) {
      queue.push({t->rank, static_cast<int64_t>(i), t->new_id});
    }
  }
  while (!queue.empty()) {
    const QueuedMerge top = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<size_t>(top.pos)];
    if (left.removed || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    // Skip entries made stale by an earlier merge of either symbol.
    const MergeTarget* current = target(left.id, right.id);
    if (current == nullptr || current->new_id != top.new_id) continue;

    left.id = top.new_id;
    left.end = right.end;
    right.removed = true;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = top.pos;
    if (left.prev >= 0) {
      if (const MergeTarget* t = target(symbols[static_cast<size_t>(left.prev)].id, left.id)) {
        queue.push({t->rank, left.prev, t->new_id});
      }
    }
    if (left.next >= 0) {
      if (const MergeTarget* t = target(left.id, symbols[static_cast<size_t>(left.next)].id)) {
        queue.push({t->rank, top.pos, t->new_id});
      }
    }
  }
  std::vector<ModelToken> out;
  for (const Symbol& s : symbols) {
    if (!s.removed) out.push_back({s.id, s.begin, s.end});
  }
  return out;
}

std::vector<BpeMerge> read_merges_txt(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  LP_CHECK(in, path.string(), ": cannot open the BPE merges (expected a readable merges.txt)");
  std::vector<BpeMerge> merges;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    LP_CHECK(space != std::string::npos && space > 0 && space + 1 < line.size() &&
                 line.find(' ', space + 1) == std::string::npos,
             path.string(), " line ", line_no, ": expected two tokens separated by one space, got '",
             line, "'");
    merges.push_back({line.substr(0, space), line.substr(space + 1), line_no});
  }
  return merges;
}

}  // namespace lightpeft
