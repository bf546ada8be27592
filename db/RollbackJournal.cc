// Journal encoding, scanning and file handling.
#include "RollbackJournal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

namespace openoserv::db {

namespace {

constexpr std::uint32_t kMagic = 0x4C42444F;  // "ODBL"
constexpr size_t kHeader = 12;
// A sane bound for one record: keys and values are object records, not blobs.
constexpr std::uint32_t kMaxPayload = 64u << 20;

std::uint32_t crc32(std::string_view data) {
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
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

}  // namespace

std::string JournalRecord::encode() const {
  std::string payload;
  payload += static_cast<char>(type);
  put_u64(payload, top);
  put_u64(payload, txn);
  if (type == Type::kBeforeImage) {
    payload += static_cast<char>(table);
    put_u32(payload, static_cast<std::uint32_t>(key.size()));
    payload += key;
    payload += static_cast<char>(before ? 1 : 0);
    put_u32(payload, static_cast<std::uint32_t>(before ? before->size() : 0));
    if (before) payload += *before;
  }
  std::string out;
  out.reserve(kHeader + payload.size());
  put_u32(out, kMagic);
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, crc32(payload));
  return out + payload;
}

JournalScan scan_journal(std::string_view bytes, const std::string& path) {
  JournalScan scan;
  size_t pos = 0;
  auto corrupt = [&](const char* what) {
    throw JournalCorrupt(fmt::format(
        "{}: {} at offset {}; the journal is damaged before its end, so the database cannot be "
        "recovered automatically. Keep the file for analysis and restore from a backup.",
        path, what, pos));
  };
  // Zero bytes after the last record are a file extended by a crash, never a record.
  auto only_zeros_from = [&](size_t p) {
    return bytes.find_first_not_of('\0', p) == std::string_view::npos;
  };
  while (pos < bytes.size()) {
    if (bytes.size() - pos < kHeader) {
      scan.torn_tail = true;
      break;
    }
    Reader header(bytes.substr(pos, kHeader));
    std::uint32_t magic = 0, length = 0, crc = 0;
    header.uint(magic);
    header.uint(length);
    header.uint(crc);
    if (magic != kMagic) {
      if (only_zeros_from(pos)) {
        scan.torn_tail = true;
        break;
      }
      corrupt("bad record marker");
    }
    if (length > kMaxPayload) corrupt("impossible record length");
    if (bytes.size() - pos - kHeader < length) {
      scan.torn_tail = true;  // cut short by a crash mid-append
      break;
    }
    std::string_view payload = bytes.substr(pos + kHeader, length);
    const size_t end = pos + kHeader + length;
    JournalRecord record;
    if (crc32(payload) != crc || !decode_payload(payload, record)) {
      if (end == bytes.size() || only_zeros_from(end)) {
        scan.torn_tail = true;
        break;
      }
      corrupt(crc32(payload) != crc ? "checksum mismatch" : "malformed record");
    }
    scan.records.push_back(std::move(record));
    pos = end;
    scan.valid_bytes = end;
  }
  return scan;
}

RollbackJournal::~RollbackJournal() {
  if (fd_ >= 0) ::close(fd_);
}

void RollbackJournal::open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw DbError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0)
    throw DbError(fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
  size_ = static_cast<std::uint64_t>(st.st_size);
}

std::string RollbackJournal::read_all() const {
  std::string out;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd_, buf, sizeof buf, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw DbError(fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
}

void RollbackJournal::append(const std::string& encoded) {
  pending_ += encoded;
  size_ += encoded.size();
}

void RollbackJournal::flush() {
  size_t done = 0;
  while (done < pending_.size()) {
    ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      // What was not written stays queued: a later flush retries it, in order.
      pending_.erase(0, done);
      throw DbError(fmt::format("cannot append to {}: {}", path_, std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  pending_.clear();
}

void RollbackJournal::sync() {
  if (::fdatasync(fd_) != 0)
    throw DbError(fmt::format("cannot sync {}: {}", path_, std::strerror(errno)));
}

void RollbackJournal::truncate() {
  if (::ftruncate(fd_, 0) != 0)
    throw DbError(fmt::format("cannot truncate {}: {}", path_, std::strerror(errno)));
  size_ = 0;
  pending_.clear();
  // No fsync: if a crash loses the truncation, the old records all carry their end marks and
  // recovery skips them; the next append's fdatasync persists the new size anyway.
}

}  // namespace openoserv::db
