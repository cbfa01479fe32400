// The one hashing wrapper of the project: XXH3 over bytes, a word hash that
// is fast for the short keys of natural language, and the order-sensitive
// combination of word hashes into shingle hashes.
//
//   uint64_t w1 = newsdedup::HashWord("syria");
//   uint64_t w2 = newsdedup::HashWord("demands");
//   uint64_t s = newsdedup::CombineOrdered(newsdedup::CombineOrdered(
//       kShingleSeed, w1), w2);
//
// All functions are pure and thread-safe. Values are stable across platforms
// and releases of this library (pinned by golden tests), so they may be
// written to disk.
#ifndef NEWSDEDUP_HASH_H_
#define NEWSDEDUP_HASH_H_

#include <cstdint>
#include <string_view>

namespace newsdedup {

// XXH3-64 of `bytes` with `seed`.
uint64_t HashBytes(std::string_view bytes, uint64_t seed = 0);

// Hash of one normalized word. Words of up to 16 bytes are hashed as a
// zero-padded 16-byte slot (one fixed-length XXH3 call, no branch on the
// length); longer words hash their bytes with a different seed. Normalized
// words never contain NUL, so the padding cannot make two words collide.
uint64_t HashWord(std::string_view word);

// Mixes `value` into the running hash `state`; the result depends on the
// order of the values (CombineOrdered(CombineOrdered(s, a), b) differs from
// CombineOrdered(CombineOrdered(s, b), a) except by chance). Cost: two
// multiplications.
inline uint64_t CombineOrdered(uint64_t state, uint64_t value) {
  // Multiply-rotate in the style of the wyhash/xxh3 avalanche: the rotation
  // puts the previous state's high bits where the next value's low bits land.
  uint64_t x = (state ^ value) * 0x9E3779B97F4A7C15ULL;
  x ^= (x >> 32) ^ (state << 29 | state >> 35);
  return x * 0xD6E8FEB86659FD93ULL;
}

// Final avalanche (the murmur3 fmix64 finalizer), applied to combined hashes
// so that every output bit depends on every input bit.
inline uint64_t Finalize(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace newsdedup

#endif  // NEWSDEDUP_HASH_H_
