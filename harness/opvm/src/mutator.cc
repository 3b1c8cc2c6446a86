#include <luahammer/opvm/mutator.hpp>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace luahammer {

namespace {

struct Parsed {
  std::vector<std::uint8_t> header;                // the header's payload
  std::vector<std::vector<std::uint8_t>> records;  // each: code, length, payload
  std::vector<std::uint8_t> tail;                  // a last record cut short: kept as is
};

Parsed parse(const std::uint8_t* data, std::size_t size) {
  Parsed p;
  std::size_t at = 0;
  if (size == 0) return p;
  const std::size_t header = std::min<std::size_t>(data[0], size - 1);
  p.header.assign(data + 1, data + 1 + header);
  at = 1 + header;
  while (at + 2 <= size) {
    const std::size_t length = data[at + 1];
    if (at + 2 + length > size) break;
    p.records.emplace_back(data + at, data + at + 2 + length);
    at += 2 + length;
  }
  p.tail.assign(data + at, data + size);
  return p;
}

std::size_t write(const Parsed& p, std::uint8_t* out, std::size_t max_size) {
  std::vector<std::uint8_t> bytes;
  bytes.push_back(static_cast<std::uint8_t>(p.header.size()));
  bytes.insert(bytes.end(), p.header.begin(), p.header.end());
  for (const auto& record : p.records) {
    if (bytes.size() + record.size() > max_size) break;
    bytes.insert(bytes.end(), record.begin(), record.end());
  }
  if (bytes.size() + p.tail.size() <= max_size) bytes.insert(bytes.end(), p.tail.begin(), p.tail.end());
  const std::size_t n = std::min(bytes.size(), max_size);
  std::memcpy(out, bytes.data(), n);
  return n;
}

// Runs the byte mutator over `bytes` (a payload or header), at most `limit` bytes after.
void mutate_bytes_of(std::vector<std::uint8_t>& bytes, std::size_t limit, ByteMutator mutate_bytes) {
  const std::size_t before = bytes.size();
  bytes.resize(std::max(limit, before + 1));
  const std::size_t after = mutate_bytes(bytes.data(), before, limit);
  bytes.resize(std::min(after, limit));
}

}  // namespace

std::size_t mutate_program(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed,
                           const ProgramOptions& options, ByteMutator mutate_bytes) {
  std::mt19937 rng(seed);
  Parsed p = parse(data, size);
  const OpMenu menu(options);
  auto pick = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  // Out of 32: 2 the whole input byte-wise, 6 a fresh record, 10 one record's payload,
  // 4 the header (the GC plan and a leading hook plan, whose event number decides where a
  // hook acts), 2 each delete, duplicate, swap, move and re-code a record.
  unsigned choice = rng() % 32;
  const bool on_a_record = (choice >= 8 && choice < 18) || choice >= 22;
  if (p.records.empty() && on_a_record) choice = 2;  // nothing to act on: insert one
  if (choice < 2) return mutate_bytes(data, size, max_size);
  if (choice < 8) {
    // A fresh record of a menu op, somewhere.
    std::mt19937_64 draw(rng());
    if (const OpInfo* info = menu.draw(draw)) {
      std::vector<std::uint8_t> record;
      random_record(draw, *info, record);
      p.records.insert(p.records.begin() + static_cast<long>(pick(p.records.size() + 1)), std::move(record));
    }
  } else if (choice < 18) {
    // One record's payload through the byte mutator (its length byte follows).
    auto& record = p.records[pick(p.records.size())];
    std::vector<std::uint8_t> payload(record.begin() + 2, record.end());
    mutate_bytes_of(payload, 255, mutate_bytes);
    record.resize(2);
    record[1] = static_cast<std::uint8_t>(payload.size());
    record.insert(record.end(), payload.begin(), payload.end());
  } else if (choice < 22) {
    mutate_bytes_of(p.header, 255, mutate_bytes);
  } else if (choice < 24) {
    p.records.erase(p.records.begin() + static_cast<long>(pick(p.records.size())));
  } else if (choice < 26) {
    const auto copy = p.records[pick(p.records.size())];
    p.records.insert(p.records.begin() + static_cast<long>(pick(p.records.size() + 1)), copy);
  } else if (choice < 28) {
    std::swap(p.records[pick(p.records.size())], p.records[pick(p.records.size())]);
  } else if (choice < 30) {
    // Move a record elsewhere: the same op earlier or later in the program.
    const std::size_t from = pick(p.records.size());
    auto record = p.records[from];
    p.records.erase(p.records.begin() + static_cast<long>(from));
    p.records.insert(p.records.begin() + static_cast<long>(pick(p.records.size() + 1)), record);
  } else if (!menu.ops.empty()) {
    // Another op of the menu with the same payload.
    p.records[pick(p.records.size())][0] = static_cast<std::uint8_t>(menu.ops[pick(menu.ops.size())]->code);
  }
  return write(p, data, max_size);
}

std::size_t cross_over_programs(const std::uint8_t* a, std::size_t a_size, const std::uint8_t* b, std::size_t b_size,
                                std::uint8_t* out, std::size_t max_size, unsigned seed) {
  std::mt19937 rng(seed);
  Parsed first = parse(a, a_size);
  const Parsed second = parse(b, b_size);
  const std::size_t keep = first.records.empty() ? 0 : rng() % (first.records.size() + 1);
  const std::size_t from = second.records.empty() ? 0 : rng() % (second.records.size() + 1);
  first.records.resize(keep);
  first.records.insert(first.records.end(), second.records.begin() + static_cast<long>(from), second.records.end());
  first.tail.clear();
  return write(first, out, max_size);
}

}  // namespace luahammer
