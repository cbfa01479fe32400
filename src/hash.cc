#include "newsdedup/hash.h"

#include "internal/word_hash.h"

namespace newsdedup {

uint64_t HashBytes(std::string_view bytes, uint64_t seed) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

uint64_t HashWord(std::string_view word) {
  return internal::HashWordBytes(word.data(), word.size());
}

}  // namespace newsdedup
