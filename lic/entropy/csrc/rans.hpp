// lic range coder: 64-bit rANS with 32-bit renormalisation and independent lanes.
//
// The arithmetic is specified byte by byte in bitstream-spec.md ("Entropy coder").
// In short:
//   * state x is a 64-bit integer kept in [L, L << 32) with L = 2^31;
//   * symbols are coded with integer CDF tables of PRECISION = 16 bits;
//   * renormalisation moves whole 32-bit words, written as 4 little-endian bytes
//     whatever the host byte order is, so the output is the same on every machine;
//   * a value outside a table's range is coded as the table's escape symbol
//     followed by an Exp-Golomb code sent through uniform "bypass" symbols;
//   * the symbols of each coding call are split into `lanes` contiguous chunks,
//     each coded into its own byte stream, so a decoder can run lanes in threads.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lic {

constexpr uint32_t kPrecision = 16;
constexpr uint32_t kTotal = 1u << kPrecision;
constexpr uint64_t kRansL = 1ull << 31;
constexpr uint32_t kLutBits = 8;
constexpr uint32_t kLutSize = (1u << kLutBits) + 1;
constexpr uint32_t kEscapeLengthBits = 6;
constexpr uint32_t kBypassChunkBits = 16;
constexpr uint32_t kMaxEscapeBits = 40;
constexpr uint32_t kMaxLanes = 64;

// Raised for a stream that cannot be decoded (truncated, corrupt, inconsistent).
class StreamError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bank of integer CDF tables: table t has cdf[t][0..length[t]-1], cdf[t][0] = 0,
// cdf[t][length[t]-1] = 2^16, strictly increasing. Its last symbol
// (index length[t]-2) is the escape symbol; values v with
// 0 <= v - offset[t] < length[t]-2 are coded directly.
class CdfTables {
 public:
  CdfTables(const int32_t* cdf, int64_t n_tables, int64_t stride, const int32_t* lengths,
            const int32_t* offsets);

  int64_t size() const { return n_tables_; }
  const uint32_t* cdf(int64_t t) const { return cdf_.data() + t * stride_; }
  int32_t length(int64_t t) const { return lengths_[t]; }
  int32_t offset(int64_t t) const { return offsets_[t]; }
  // Symbol s with cdf[s] <= cum < cdf[s+1]: bucket lookup, then binary search.
  uint32_t find(int64_t t, uint32_t cum) const;

 private:
  int64_t n_tables_;
  int64_t stride_;
  std::vector<uint32_t> cdf_;
  std::vector<int32_t> lengths_;
  std::vector<int32_t> offsets_;
  std::vector<uint16_t> lut_;
};

// One coding operation: start and frequency of a symbol at `bits` of precision.
struct RansOp {
  uint32_t start;
  uint32_t freq;
  uint32_t bits;
};

class RansEncoder {
 public:
  explicit RansEncoder(int lanes);
  // Appends n symbols coded with tables[indexes[i]]; split over lanes in chunks.
  void push(const int32_t* symbols, const int32_t* indexes, int64_t n, const CdfTables& tables);
  // Encodes everything pushed so far; one byte string per lane. Resets the encoder.
  std::vector<std::string> finish();
  int lanes() const { return static_cast<int>(ops_.size()); }

 private:
  std::vector<std::vector<RansOp>> ops_;
};

// Decodes one value coded with tables[t] from a lane's state, data and read position; returns
// an error message (and leaves the state untouched) or nullptr.
const char* decode_value(uint64_t* state, const uint8_t* data, size_t size, size_t* pos, int64_t t,
                         const CdfTables& tables, int32_t* out);

class RansDecoder {
 public:
  // `streams` are the lanes' byte strings as produced by RansEncoder::finish.
  RansDecoder(std::vector<std::string> streams, int threads);
  // Decodes n symbols with tables[indexes[i]] into out; mirrors RansEncoder::push.
  void pull(const int32_t* indexes, int64_t n, const CdfTables& tables, int32_t* out);
  // Decodes one value with tables[t] from the only lane (a single-lane decoder), for models
  // whose next table depends on the previous value (lic/entropy/csrc/arm.cpp).
  int32_t pull_one(int64_t t, const CdfTables& tables);
  // True when every lane is back to the initial state with all its bytes consumed.
  bool exhausted() const;

 private:
  struct Lane {
    const uint8_t* data;
    size_t size;
    size_t pos;
    uint64_t x;
  };
  std::vector<std::string> streams_;
  std::vector<Lane> lanes_;
  int threads_;
};

}  // namespace lic
