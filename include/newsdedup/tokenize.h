// Tokenization: splits UTF-8 text into words, each carrying its byte range in
// the ORIGINAL text and the hash of its normalized form (NFKC + Unicode case
// folding, default-ignorable code points removed).
//
//   std::vector<newsdedup::Token> tokens;
//   newsdedup::Tokenize("Caf\xC3\xA9 \xE2\x80\x9CNews\xE2\x80\x9D", 0,
//   &tokens);
//   // tokens[0] = [0, 5) "Café", tokens[1] = [9, 13) "News";
//   // tokens[1].hash == newsdedup::HashWord("news")
//
// Word characters are letters, marks and numbers (Unicode categories L*, M*,
// N*). Everything else separates words: ASCII punctuation, curly quotes,
// dashes, NBSP and other spaces, symbols. Han ideographs, kana and other
// scripts written without spaces become one token per character. Invalid
// UTF-8 bytes are separators: they never crash the tokenizer and never shift
// the offsets of the tokens around them. Pure ASCII words take a fast path
// (table lookup and lowercase) that yields the same hash as the Unicode path.
#ifndef NEWSDEDUP_TOKENIZE_H_
#define NEWSDEDUP_TOKENIZE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace newsdedup {

struct Token {
  uint32_t begin;  // byte offset of the first byte, relative to the base
  uint32_t end;    // one past the last byte (half-open)
  uint64_t hash;   // HashWord(NormalizeWord(original bytes))
};

// Appends the tokens of `text` to `*out`; offsets are `base` + the offset in
// `text`. `text` must be shorter than 4 GiB - `base`. Thread-safe. Cost:
// about 1 ns per ASCII byte; words with non-ASCII letters go through
// utf8proc's normalizer.
void Tokenize(std::string_view text, uint32_t base, std::vector<Token>* out);

// Convenience overload: the tokens of `text` with base 0.
std::vector<Token> Tokenize(std::string_view text);

// The normalized form of one word as the tokenizer hashes it: NFKC, case
// folded, default-ignorable code points removed; a dotted abbreviation
// ("U.S", single ASCII letters joined by dots, one token) becomes its
// letters ("us"). Invalid UTF-8 yields the input bytes unchanged. For tests
// and diagnostics.
std::string NormalizeWord(std::string_view word);

}  // namespace newsdedup

#endif  // NEWSDEDUP_TOKENIZE_H_
