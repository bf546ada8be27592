// Journal encoding, scanning and file handling.
#include "RollbackJournal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace openoserv::db {

namespace {

constexpr std::uint32_t kMagic = 0x3242444F;       // "ODB2": CRC-32C
constexpr std::uint32_t kMagicCrc32 = 0x4C42444F;  // "ODBL": the first format, CRC-32
constexpr size_t kHeader = 12;
// A sane bound for one record: keys and values are object records, not blobs.
constexpr std::uint32_t kMaxPayload = 64u << 20;
// The file grows by at least this much, and always to a multiple of it.
constexpr std::uint64_t kGrowthStep = 4096;
// The mapping is reserved ahead of the file, so that it moves rarely.
constexpr std::size_t kMinMapping = 64u << 20;

std::uint32_t crc32(std::string_view data) {
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::string_view data) {
  const char* p = data.data();
  std::size_t n = data.size();
  std::uint64_t crc = 0xFFFFFFFFu;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    crc = _mm_crc32_u64(crc, word);
  }
  auto crc32 = static_cast<std::uint32_t>(crc);
  for (; n > 0; ++p, --n) crc32 = _mm_crc32_u8(crc32, static_cast<unsigned char>(*p));
  return ~crc32;
}
#endif

char* put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) *p++ = static_cast<char>((v >> (8 * i)) & 0xFF);
  return p;
}
char* put_u64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) *p++ = static_cast<char>((v >> (8 * i)) & 0xFF);
  return p;
}

std::size_t record_size(JournalRecord::Type type, std::string_view key,
                        const std::optional<std::string>& before) {
  std::size_t payload = 1 + 8 + 8;
  if (type == JournalRecord::Type::kBeforeImage)
    payload += 1 + 4 + key.size() + 1 + 4 + (before ? before->size() : 0);
  return kHeader + payload;
}

// Writes one record (record_size() bytes) at `out`.
void encode_record(char* out, JournalRecord::Type type, std::uint64_t top, std::uint64_t txn,
                   std::uint8_t table, std::string_view key,
                   const std::optional<std::string>& before) {
  char* p = out + kHeader;
  *p++ = static_cast<char>(type);
  p = put_u64(p, top);
  p = put_u64(p, txn);
  if (type == JournalRecord::Type::kBeforeImage) {
    *p++ = static_cast<char>(table);
    p = put_u32(p, static_cast<std::uint32_t>(key.size()));
    p = std::copy(key.begin(), key.end(), p);
    *p++ = static_cast<char>(before ? 1 : 0);
    p = put_u32(p, static_cast<std::uint32_t>(before ? before->size() : 0));
    if (before) p = std::copy(before->begin(), before->end(), p);
  }
  const auto payload = static_cast<std::uint32_t>(p - out - kHeader);
  // The header goes last, its marker last of all: a crash (the writer's stores stop at an
  // instruction) can leave a record whose marker is missing, never one whose marker is there
  // but whose length is not. The fences keep the compiler from reordering the stores.
  char header[kHeader];
  put_u32(header, kMagic);
  put_u32(header + 4, payload);
  put_u32(header + 8, crc32c({out + kHeader, payload}));
  std::atomic_signal_fence(std::memory_order_seq_cst);
  std::memcpy(out + 4, header + 4, 8);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  std::memcpy(out, header, 4);
}

// Bounds-checked reader over one payload.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool u8(std::uint8_t& v) {
    if (data_.size() - pos_ < 1) return false;
    v = static_cast<std::uint8_t>(data_[pos_++]);
    return true;
  }
  template <typename T>
  bool uint(T& v) {
    if (data_.size() - pos_ < sizeof(T)) return false;
    v = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      v |= static_cast<T>(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
    pos_ += sizeof(T);
    return true;
  }
  bool bytes(std::string& out) {
    std::uint32_t n = 0;
    if (!uint(n) || data_.size() - pos_ < n) return false;
    out.assign(data_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

bool decode_payload(std::string_view payload, JournalRecord& r) {
  Reader in(payload);
  std::uint8_t type = 0;
  if (!in.u8(type) || !in.uint(r.top) || !in.uint(r.txn)) return false;
  switch (static_cast<JournalRecord::Type>(type)) {
    case JournalRecord::Type::kCommit:
    case JournalRecord::Type::kAbort:
      r.type = static_cast<JournalRecord::Type>(type);
      return in.done();
    case JournalRecord::Type::kBeforeImage: {
      r.type = JournalRecord::Type::kBeforeImage;
      std::uint8_t present = 0;
      if (!in.u8(r.table) || !in.bytes(r.key) || !in.u8(present) || present > 1) return false;
      std::string value;
      if (!in.bytes(value)) return false;
      if (present) r.before = std::move(value);
      return in.done();
    }
  }
  return false;
}

// Parses the record at `pos`: on success fills `record` and `end` and returns nullptr, else
// returns what is wrong with it.
const char* parse_record(std::string_view bytes, size_t pos, JournalRecord& record, size_t& end) {
  if (bytes.size() - pos < kHeader) return "record cut short";
  Reader header(bytes.substr(pos, kHeader));
  std::uint32_t magic = 0, length = 0, crc = 0;
  header.uint(magic);
  header.uint(length);
  header.uint(crc);
  if (magic != kMagic && magic != kMagicCrc32) return "bad record marker";
  if (length > kMaxPayload) return "impossible record length";
  if (bytes.size() - pos - kHeader < length) return "record cut short";
  std::string_view payload = bytes.substr(pos + kHeader, length);
  if ((magic == kMagic ? crc32c(payload) : crc32(payload)) != crc) return "checksum mismatch";
  if (!decode_payload(payload, record)) return "malformed record";
  end = pos + kHeader + length;
  return nullptr;
}

// Whether an intact record starts anywhere at or after `from` (both formats start with 'O').
bool intact_record_from(std::string_view bytes, size_t from) {
  for (size_t p = bytes.find('O', from); p != std::string_view::npos; p = bytes.find('O', p + 1)) {
    JournalRecord record;
    size_t end = 0;
    if (!parse_record(bytes, p, record, end)) return true;
  }
  return false;
}

// Whether the damaged bytes from `pos` on can be what a crash mid-append leaves: part of one
// record copied into the zero-filled, grown-ahead file. Each magic byte present is the magic's
// (of either format) or still zero, and nothing is written past the record's end. Where that
// end is, the length field says once the marker is there (encode_record writes the marker
// last); a zero length is a header older writers left half written, and says nothing.
// Anything else - text, random bytes, another file's contents - is not a torn append but a
// damaged journal.
bool torn_append_at(std::string_view bytes, size_t pos) {
  const std::string_view rest = bytes.substr(pos);
  bool marked = false;
  for (size_t i = 0; i < 4 && i < rest.size(); ++i) {
    const auto c = static_cast<unsigned char>(rest[i]);
    const auto m = static_cast<unsigned char>(kMagic >> (8 * i));
    const auto m1 = static_cast<unsigned char>(kMagicCrc32 >> (8 * i));
    if (c != m && c != m1 && c != 0) return false;
    marked = marked || c != 0;
  }
  std::uint64_t extent = std::uint64_t{kHeader} + kMaxPayload;
  if (marked && rest.size() >= 8) {
    std::uint32_t length = 0;
    for (size_t i = 0; i < 4; ++i)
      length |= std::uint32_t{static_cast<unsigned char>(rest[4 + i])} << (8 * i);
    if (length > kMaxPayload) return false;
    if (length != 0) extent = kHeader + length;
  }
  const size_t last_written = rest.find_last_not_of('\0');
  return last_written == std::string_view::npos || last_written < extent;
}

}  // namespace

std::uint32_t crc32c(std::string_view data) {
#if defined(__x86_64__)
  static const bool sse42 = __builtin_cpu_supports("sse4.2");
  if (sse42) return crc32c_sse42(data);
#endif
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

std::string JournalRecord::encode() const {
  std::string out(record_size(type, key, before), '\0');
  encode_record(out.data(), type, top, txn, table, key, before);
  return out;
}

JournalScan scan_journal(std::string_view bytes, const std::string& path) {
  JournalScan scan;
  size_t pos = 0;
  while (pos < bytes.size()) {
    JournalRecord record;
    size_t end = 0;
    const char* damage = parse_record(bytes, pos, record, end);
    if (!damage) {
      scan.records.push_back(std::move(record));
      pos = scan.valid_bytes = end;
      continue;
    }
    // Zeros: the part of the file grown ahead of the records.
    if (bytes.find_first_not_of('\0', pos) == std::string_view::npos) break;
    // A crash mid-append leaves part of the last record, and nothing intact after it.
    if (intact_record_from(bytes, pos + 1))
      throw JournalCorrupt(fmt::format(
          "{}: {} at offset {}; the journal is damaged before its end, so the database cannot be "
          "recovered automatically. Keep the file for analysis and restore from a backup.",
          path, damage, pos));
    if (!torn_append_at(bytes, pos))
      throw JournalCorrupt(fmt::format(
          "{}: {} at offset {}, and what follows is not part of a record a crash cut short: "
          "the journal is damaged (or is not an odb.log), so the database cannot be recovered "
          "automatically. Keep the file for analysis and restore from a backup.",
          path, damage, pos));
    scan.torn_tail = true;
    break;
  }
  return scan;
}

RollbackJournal::~RollbackJournal() {
  if (map_) ::munmap(map_, map_length_);
}

void RollbackJournal::open(const std::string& path) {
  path_ = path;
  fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd_) throw DbError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0)
    throw DbError(fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
  // Until recovery has read and truncated it, what is there is not overwritten.
  size_ = file_size_ = static_cast<std::uint64_t>(st.st_size);
}

std::string RollbackJournal::read_all() const {
  std::string out;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd_.get(), buf, sizeof buf, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw DbError(fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
}

void RollbackJournal::grow(std::uint64_t needed) {
  std::uint64_t target = std::max(needed, file_size_ + std::max(kGrowthStep, file_size_ / 4));
  target = (target + kGrowthStep - 1) / kGrowthStep * kGrowthStep;
  // Blocks are allocated now, so writing through the mapping cannot fail for want of space.
  if (int rc = ::posix_fallocate(fd_.get(), static_cast<off_t>(file_size_),
                                 static_cast<off_t>(target - file_size_));
      rc != 0)
    throw DbError(fmt::format("cannot extend {} to {} bytes: {}", path_, target,
                              std::strerror(rc)));
  if (target > map_length_) {
    const std::size_t length = std::max<std::size_t>({target, 2 * map_length_, kMinMapping});
    void* p = map_ ? ::mremap(map_, map_length_, length, MREMAP_MAYMOVE)
                   : ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (p == MAP_FAILED)
      throw DbError(fmt::format("cannot map {} ({} bytes): {}", path_, length,
                                std::strerror(errno)));
    map_ = static_cast<char*>(p);
    map_length_ = length;
  }
  file_size_ = target;
}

void RollbackJournal::append(JournalRecord::Type type, std::uint64_t top, std::uint64_t txn,
                             std::uint8_t table, std::string_view key,
                             const std::optional<std::string>& before) {
  const std::size_t n = record_size(type, key, before);
  if (size_ + n > file_size_) grow(size_ + n);
  encode_record(map_ + size_, type, top, txn, table, key, before);
  size_ += n;
}

void RollbackJournal::append_before_image(std::uint64_t top, std::uint64_t txn,
                                          std::uint8_t table, std::string_view key,
                                          const std::optional<std::string>& before) {
  append(JournalRecord::Type::kBeforeImage, top, txn, table, key, before);
}

void RollbackJournal::append_mark(JournalRecord::Type type, std::uint64_t top,
                                  std::uint64_t txn) {
  append(type, top, txn, 0, {}, std::nullopt);
}

void RollbackJournal::sync() {
  if (::fdatasync(fd_.get()) != 0)
    throw DbError(fmt::format("cannot sync {}: {}", path_, std::strerror(errno)));
}

void RollbackJournal::truncate() {
  if (::ftruncate(fd_.get(), 0) != 0)
    throw DbError(fmt::format("cannot truncate {}: {}", path_, std::strerror(errno)));
  size_ = file_size_ = 0;
  // The mapping stays: nothing is written through it before grow() extends the file again.
  // No fsync: no transaction is open, so if a power loss undoes the truncation, every
  // transaction in the old records had ended. Commit marks were synced before their LMDB commit;
  // an abort mark that was not guards only before-images equal to what LMDB holds (a later
  // commit of the same record would have synced it). The next sync persists the new size.
}

}  // namespace openoserv::db
