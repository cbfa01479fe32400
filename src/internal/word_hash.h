// Inline word hashing shared by hash.cc and the tokenizer's hot loop, so the
// fixed-length XXH3 call is inlined where it is used.
#ifndef NEWSDEDUP_INTERNAL_WORD_HASH_H_
#define NEWSDEDUP_INTERNAL_WORD_HASH_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace newsdedup::internal {

inline constexpr uint64_t kLongWordSeed = 0x5851F42D4C957F2DULL;

// `slot` holds the word's bytes followed by zeros up to 16 bytes.
inline uint64_t HashWordSlot(const unsigned char slot[16]) {
  return XXH3_64bits(slot, 16);
}

inline uint64_t HashWordBytes(const char* data, size_t size) {
  if (size <= 16) {
    unsigned char slot[16] = {0};
    std::memcpy(slot, data, size);
    return HashWordSlot(slot);
  }
  return XXH3_64bits_withSeed(data, size, kLongWordSeed);
}

}  // namespace newsdedup::internal

#endif  // NEWSDEDUP_INTERNAL_WORD_HASH_H_
