#include "rans.hpp"

#include <algorithm>
#include <exception>
#include <thread>

namespace lic {

namespace {

// Lane j of a call with n symbols over `lanes` lanes covers [begin, end).
inline void lane_range(int64_t n, int lanes, int j, int64_t* begin, int64_t* end) {
  const int64_t chunk = (n + lanes - 1) / lanes;
  *begin = std::min<int64_t>(n, chunk * j);
  *end = std::min<int64_t>(n, *begin + chunk);
}

inline void put_word(std::string* out, uint32_t w) {
  out->push_back(static_cast<char>(w & 0xff));
  out->push_back(static_cast<char>((w >> 8) & 0xff));
  out->push_back(static_cast<char>((w >> 16) & 0xff));
  out->push_back(static_cast<char>((w >> 24) & 0xff));
}

inline uint32_t get_word(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

inline int bit_length(uint64_t v) {
  int n = 0;
  while (v) {
    ++n;
    v >>= 1;
  }
  return n;
}

void append_symbol(std::vector<RansOp>* ops, int32_t value, int64_t t, const CdfTables& tables) {
  if (t < 0 || t >= tables.size()) throw std::out_of_range("CDF table index out of range");
  const uint32_t* cdf = tables.cdf(t);
  const int64_t n_regular = tables.length(t) - 2;
  const int64_t u = static_cast<int64_t>(value) - tables.offset(t);
  if (u >= 0 && u < n_regular) {
    ops->push_back({cdf[u], cdf[u + 1] - cdf[u], kPrecision});
    return;
  }
  ops->push_back({cdf[n_regular], cdf[n_regular + 1] - cdf[n_regular], kPrecision});
  // Zig-zag the excess: below the range -> odd, above -> even; then Exp-Golomb.
  const uint64_t e = u < 0 ? 2 * static_cast<uint64_t>(-u) - 1
                           : 2 * static_cast<uint64_t>(u - n_regular);
  const uint64_t e1 = e + 1;
  const uint32_t k = static_cast<uint32_t>(bit_length(e1) - 1);
  ops->push_back({k, 1, kEscapeLengthBits});
  const uint64_t rest = e1 - (1ull << k);
  uint32_t shift = k;
  while (shift > 0) {
    const uint32_t b = std::min(kBypassChunkBits, shift);
    shift -= b;
    ops->push_back({static_cast<uint32_t>((rest >> shift) & ((1ull << b) - 1)), 1, b});
  }
}

}  // namespace

CdfTables::CdfTables(const int32_t* cdf, int64_t n_tables, int64_t stride, const int32_t* lengths,
                     const int32_t* offsets)
    : n_tables_(n_tables), stride_(stride) {
  if (n_tables <= 0 || stride < 3) throw std::invalid_argument("empty CDF table bank");
  cdf_.resize(n_tables * stride);
  lengths_.assign(lengths, lengths + n_tables);
  offsets_.assign(offsets, offsets + n_tables);
  lut_.resize(n_tables * kLutSize);
  for (int64_t t = 0; t < n_tables; ++t) {
    const int32_t len = lengths_[t];
    if (len < 3 || len > stride || len > static_cast<int32_t>(kTotal) + 1)
      throw std::invalid_argument("CDF table " + std::to_string(t) + " has a bad length");
    const int32_t* src = cdf + t * stride;
    if (src[0] != 0 || src[len - 1] != static_cast<int32_t>(kTotal))
      throw std::invalid_argument("CDF table " + std::to_string(t) + " does not span [0, 2^16]");
    for (int32_t s = 0; s < len; ++s) {
      if (s > 0 && src[s] <= src[s - 1])
        throw std::invalid_argument("CDF table " + std::to_string(t) + " has a zero frequency");
      cdf_[t * stride + s] = static_cast<uint32_t>(src[s]);
    }
    // lut[b] = largest symbol s with cdf[s] <= b << (16 - kLutBits).
    uint16_t* lut = lut_.data() + t * kLutSize;
    int32_t s = 0;
    for (uint32_t b = 0; b < kLutSize; ++b) {
      const uint32_t cum = std::min(kTotal - 1, b << (kPrecision - kLutBits));
      while (s + 1 < len - 1 && static_cast<uint32_t>(src[s + 1]) <= cum) ++s;
      lut[b] = static_cast<uint16_t>(s);
    }
  }
}

uint32_t CdfTables::find(int64_t t, uint32_t cum) const {
  const uint32_t* c = cdf(t);
  const uint16_t* lut = lut_.data() + t * kLutSize;
  const uint32_t b = cum >> (kPrecision - kLutBits);
  uint32_t lo = lut[b];
  uint32_t hi = lut[b + 1];
  // Invariant: cdf[lo] <= cum, and the answer lies in [lo, hi].
  while (lo < hi) {
    const uint32_t mid = (lo + hi + 1) >> 1;
    if (c[mid] <= cum)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

RansEncoder::RansEncoder(int lanes) {
  if (lanes < 1 || lanes > static_cast<int>(kMaxLanes))
    throw std::invalid_argument("lanes must be in [1, 64]");
  ops_.resize(lanes);
}

void RansEncoder::push(const int32_t* symbols, const int32_t* indexes, int64_t n,
                       const CdfTables& tables) {
  const int lanes = this->lanes();
  for (int j = 0; j < lanes; ++j) {
    int64_t begin, end;
    lane_range(n, lanes, j, &begin, &end);
    std::vector<RansOp>& ops = ops_[j];
    ops.reserve(ops.size() + (end - begin));
    for (int64_t i = begin; i < end; ++i) append_symbol(&ops, symbols[i], indexes[i], tables);
  }
}

std::vector<std::string> RansEncoder::finish() {
  std::vector<std::string> out;
  for (std::vector<RansOp>& ops : ops_) {
    std::vector<uint32_t> words;  // emitted in reverse decode order
    words.reserve(ops.size() / 2 + 2);
    uint64_t x = kRansL;
    for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
      const uint64_t x_max = ((kRansL >> it->bits) << 32) * it->freq;
      if (x >= x_max) {
        words.push_back(static_cast<uint32_t>(x));
        x >>= 32;
      }
      x = ((x / it->freq) << it->bits) + (x % it->freq) + it->start;
    }
    std::string lane;
    lane.reserve(8 + 4 * words.size());
    put_word(&lane, static_cast<uint32_t>(x));
    put_word(&lane, static_cast<uint32_t>(x >> 32));
    for (auto w = words.rbegin(); w != words.rend(); ++w) put_word(&lane, *w);
    out.push_back(std::move(lane));
    ops.clear();
    ops.shrink_to_fit();
  }
  return out;
}

RansDecoder::RansDecoder(std::vector<std::string> streams, int threads)
    : streams_(std::move(streams)), threads_(std::max(1, threads)) {
  if (streams_.empty() || streams_.size() > kMaxLanes)
    throw StreamError("bad number of coder lanes");
  for (const std::string& s : streams_) {
    if (s.size() < 8 || s.size() % 4 != 0) throw StreamError("coder lane has a bad length");
    const uint8_t* p = reinterpret_cast<const uint8_t*>(s.data());
    const uint64_t x = static_cast<uint64_t>(get_word(p)) | (static_cast<uint64_t>(get_word(p + 4)) << 32);
    if (x < kRansL) throw StreamError("coder lane starts with an invalid state");
    lanes_.push_back({p, s.size(), 8, x});
  }
}

namespace {

const char* kTruncated = "coded data ends early (truncated or corrupt stream)";

}  // namespace

const char* decode_value(uint64_t* state, const uint8_t* data, size_t size, size_t* pos, int64_t t,
                         const CdfTables& tables, int32_t* out) {
  uint64_t x = *state;
  size_t p = *pos;
  auto advance = [&](uint32_t start, uint32_t freq, uint32_t bits) -> bool {
    x = freq * (x >> bits) + (x & ((1ull << bits) - 1)) - start;
    if (x < kRansL) {
      if (p + 4 > size) return false;
      x = (x << 32) | get_word(data + p);
      p += 4;
    }
    return true;
  };
  auto low_bits = [&](uint32_t bits) { return static_cast<uint32_t>(x & ((1ull << bits) - 1)); };
  if (t < 0 || t >= tables.size()) return "CDF table index out of range";
  const uint32_t* cdf = tables.cdf(t);
  const int64_t n_regular = tables.length(t) - 2;
  const uint32_t s = tables.find(t, low_bits(kPrecision));
  if (!advance(cdf[s], cdf[s + 1] - cdf[s], kPrecision)) return kTruncated;
  int64_t u = s;
  if (s == static_cast<uint32_t>(n_regular)) {
    const uint32_t k = low_bits(kEscapeLengthBits);
    if (!advance(k, 1, kEscapeLengthBits)) return kTruncated;
    if (k > kMaxEscapeBits) return "escape code too long (corrupt stream)";
    uint64_t rest = 0;
    uint32_t shift = k;
    while (shift > 0) {
      const uint32_t b = std::min(kBypassChunkBits, shift);
      shift -= b;
      const uint32_t chunk = low_bits(b);
      if (!advance(chunk, 1, b)) return kTruncated;
      rest = (rest << b) | chunk;
    }
    const uint64_t e = (1ull << k) + rest - 1;
    u = (e & 1) ? -static_cast<int64_t>((e + 1) / 2) : n_regular + static_cast<int64_t>(e / 2);
  }
  const int64_t v = u + tables.offset(t);
  if (v < INT32_MIN || v > INT32_MAX) return "decoded value out of range (corrupt stream)";
  *out = static_cast<int32_t>(v);
  *state = x;
  *pos = p;
  return nullptr;
}

namespace {

// Decodes one lane's share of a call. Returns an error message, empty on success.
std::string pull_lane(uint64_t* state, const uint8_t* data, size_t size, size_t* pos,
                      const int32_t* indexes, int64_t begin, int64_t end, const CdfTables& tables,
                      int32_t* out) {
  for (int64_t i = begin; i < end; ++i) {
    const char* error = decode_value(state, data, size, pos, indexes[i], tables, out + i);
    if (error != nullptr) return error;
  }
  return std::string();
}

}  // namespace

void RansDecoder::pull(const int32_t* indexes, int64_t n, const CdfTables& tables, int32_t* out) {
  const int lanes = static_cast<int>(lanes_.size());
  std::vector<std::string> errors(lanes);
  auto run = [&](int j) {
    int64_t begin, end;
    lane_range(n, lanes, j, &begin, &end);
    Lane& lane = lanes_[j];
    errors[j] = pull_lane(&lane.x, lane.data, lane.size, &lane.pos, indexes, begin, end, tables, out);
  };
  const int64_t kMinSymbolsPerThread = 4096;
  const int workers = static_cast<int>(std::min<int64_t>({threads_, lanes, n / kMinSymbolsPerThread}));
  if (workers <= 1) {
    for (int j = 0; j < lanes; ++j) run(j);
  } else {
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w)
      pool.emplace_back([&, w] {
        for (int j = w; j < lanes; j += workers) run(j);
      });
    for (std::thread& th : pool) th.join();
  }
  for (const std::string& e : errors)
    if (!e.empty()) throw StreamError(e);
}

int32_t RansDecoder::pull_one(int64_t t, const CdfTables& tables) {
  if (lanes_.size() != 1) throw StreamError("sequentially coded symbols need a single coder lane");
  Lane& lane = lanes_[0];
  int32_t value;
  const char* error = decode_value(&lane.x, lane.data, lane.size, &lane.pos, t, tables, &value);
  if (error != nullptr) throw StreamError(error);
  return value;
}

bool RansDecoder::exhausted() const {
  for (const Lane& lane : lanes_)
    if (lane.x != kRansL || lane.pos != lane.size) return false;
  return true;
}

}  // namespace lic
