// The byte reader the op-program decoder reads records with, and its mirror, the writer
// that encodes a decoded program back into bytes (seeds, migrations, the round-trip test).
// The reader consumes front to back; an exhausted input reads as zeros, so a short record
// still decodes, and to the same thing every time. An integer in [min, max] takes as many
// little-endian bytes as the range needs (none for an empty range): the writer puts back
// exactly those bytes, so decode(encode(x)) == x for every value in range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

namespace luahammer {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::size_t remaining_bytes() const { return size_ - pos_; }
  std::size_t position() const { return pos_; }

  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  template <class T>
  T ConsumeIntegralInRange(T min, T max) {
    static_assert(std::is_integral_v<T>);
    using U = std::make_unsigned_t<T>;
    const std::uint64_t range = static_cast<std::uint64_t>(static_cast<U>(max) - static_cast<U>(min));
    std::uint64_t raw = 0;
    for (std::size_t i = 0; i < bytes_for(range); ++i) raw |= static_cast<std::uint64_t>(byte()) << (8 * i);
    if (range != std::numeric_limits<std::uint64_t>::max()) raw %= range + 1;
    return static_cast<T>(static_cast<U>(static_cast<U>(min) + static_cast<U>(raw)));
  }
  template <class T>
  T ConsumeIntegral() {
    return ConsumeIntegralInRange<T>(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  }
  bool ConsumeBool() { return (byte() & 1) != 0; }
  // Up to `n` bytes (fewer when the input ends).
  template <class T = std::uint8_t>
  std::vector<T> ConsumeBytes(std::size_t n) {
    static_assert(sizeof(T) == 1);
    n = n < remaining_bytes() ? n : remaining_bytes();
    std::vector<T> out(data_ + pos_, data_ + pos_ + n);
    pos_ += n;
    return out;
  }

  static constexpr std::size_t bytes_for(std::uint64_t range) {
    std::size_t n = 0;
    while (n < 8 && (range >> (8 * n)) != 0) ++n;
    return n;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

class ByteWriter {
 public:
  template <class T>
  void put_in_range(T value, T min, T max) {
    using U = std::make_unsigned_t<T>;
    const std::uint64_t range = static_cast<std::uint64_t>(static_cast<U>(max) - static_cast<U>(min));
    const std::uint64_t raw = static_cast<std::uint64_t>(static_cast<U>(static_cast<U>(value) - static_cast<U>(min)));
    for (std::size_t i = 0; i < ByteReader::bytes_for(range); ++i)
      bytes.push_back(static_cast<std::uint8_t>(raw >> (8 * i)));
  }
  template <class T>
  void put(T value) {
    put_in_range<T>(value, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  }
  void put_bool(bool value) { bytes.push_back(value ? 1 : 0); }
  void put_bytes(const std::vector<std::uint8_t>& data) { bytes.insert(bytes.end(), data.begin(), data.end()); }

  std::vector<std::uint8_t> bytes;
};

}  // namespace luahammer
