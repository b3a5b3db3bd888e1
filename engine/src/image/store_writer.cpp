// BlobWriter: resumable, verified blob ingestion (ingest file → fsync → rename into blobs/),
// and blobs whose digest is known only at the end (begin_unknown_blob).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "stack/engine/image/store.h"

namespace stack::engine::image {
namespace {

constexpr int kLockAttempts = 8;

// Opens and exclusively locks the ingest file. The file may be renamed into blobs/ or unlinked
// by its previous holder between our open() and flock(); the lock would then guard a dead
// inode (or worse, a published blob), so check the path still names what we locked.
Result<UniqueFd> open_locked(const std::string& path, std::string_view digest) {
  for (int attempt = 0; attempt < kLockAttempts; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return errno_error("blob " + std::string(digest) + ": open " + path);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Error(EAGAIN, "blob " + std::string(digest) + " is being written by another writer");
      }
      return errno_error("blob " + std::string(digest) + ": lock " + path);
    }
    struct stat by_fd, by_path;
    if (::fstat(fd.get(), &by_fd) != 0) return errno_error("stat " + path);
    if (::stat(path.c_str(), &by_path) == 0 && by_path.st_ino == by_fd.st_ino &&
        by_path.st_dev == by_fd.st_dev) {
      return fd;
    }
  }
  return Error(EAGAIN, "blob " + std::string(digest) + ": ingest file keeps changing: " + path);
}

// Rebuilds the hash of a partial download (OpenSSL's SHA-256 state cannot be saved portably).
Result<uint64_t> rehash(int fd, Sha256& hash, const std::string& path) {
  char buf[1 << 16];
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(total));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read " + path);
    }
    if (n == 0) return total;
    hash.update(buf, static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
}

// What error texts call a writer: its digest, or its ingest file while the digest is unknown.
std::string label(const std::string& digest, const std::string& ingest_path) {
  return digest.empty() ? ingest_path : digest;
}

// rename() that never replaces an existing blob: EEXIST when `to` exists. Falls back to a plain
// rename where the file system lacks RENAME_NOREPLACE (replacing equal content is harmless).
int rename_noreplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  return ::rename(from.c_str(), to.c_str());
}

}  // namespace

Result<BlobWriter> ContentStore::begin_unknown_blob() const {
  const std::string dir = root_ + "/ingest";
  for (int attempt = 0; attempt < kLockAttempts; ++attempt) {
    // Not 64 hex digits: begin_blob's resumable names can never collide with it.
    std::string path = dir + "/unknown-XXXXXX";
    UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));
    if (!fd) return errno_error("create a blob in " + dir);
    // collect_garbage may lock and unlink the new file before we lock it; then it already
    // holds the lock (EWOULDBLOCK) or the name is gone: take another name.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) continue;
      return errno_error("lock " + path);
    }
    struct stat by_fd, by_path;
    if (::fstat(fd.get(), &by_fd) != 0) return errno_error("stat " + path);
    if (::stat(path.c_str(), &by_path) != 0 || by_path.st_ino != by_fd.st_ino ||
        by_path.st_dev != by_fd.st_dev) {
      continue;
    }
    BlobWriter w;
    w.hash_ = std::make_unique<Sha256>();
    w.fd_ = std::move(fd);
    w.ingest_path_ = std::move(path);
    w.blobs_dir_ = root_ + "/blobs/sha256";
    return w;  // digest_ and blob_path_ stay empty until commit()
  }
  return Error(EAGAIN, "create a blob in " + dir + ": new ingest files keep disappearing");
}

Result<BlobWriter> ContentStore::begin_blob(std::string_view expected_digest,
                                            int64_t expected_size,
                                            std::string_view ingest_ref) const {
  std::string digest(expected_digest);
  std::string path = blob_path(digest);
  if (path.empty()) {
    return Error(is_valid_digest(digest) ? ENOTSUP : EINVAL,
                 "unsupported or invalid digest \"" + digest + "\"");
  }
  if (expected_size < kUnknownSize) return Error(EINVAL, "blob " + digest + ": negative size");
  if (has_blob(digest)) return Error(EEXIST, "blob " + digest + " already exists");
  // The digest is part of the name, so a ref reused for other content never resumes wrong bytes.
  std::string ref = ingest_ref.empty() ? digest : std::string(ingest_ref);
  std::string ingest = root_ + "/ingest/" + sha256_hex(ref + "\n" + digest);
  STACK_TRY(UniqueFd fd, open_locked(ingest, digest));
  if (has_blob(digest)) {  // committed by the writer we may have waited behind
    ::unlink(ingest.c_str());
    return Error(EEXIST, "blob " + digest + " already exists");
  }
  BlobWriter w;
  w.hash_ = std::make_unique<Sha256>();
  STACK_TRY(w.offset_, rehash(fd.get(), *w.hash_, ingest));
  if (expected_size >= 0 && w.offset_ > static_cast<uint64_t>(expected_size)) {
    if (::ftruncate(fd.get(), 0) != 0) return errno_error("truncate " + ingest);
    w.hash_ = std::make_unique<Sha256>();
    w.offset_ = 0;
  }
  if (::lseek(fd.get(), static_cast<off_t>(w.offset_), SEEK_SET) < 0) {
    return errno_error("seek " + ingest);
  }
  w.fd_ = std::move(fd);
  w.ingest_path_ = std::move(ingest);
  w.blob_path_ = std::move(path);
  w.blobs_dir_ = root_ + "/blobs/sha256";
  w.digest_ = std::move(digest);
  w.expected_size_ = expected_size;
  return w;
}

BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter& BlobWriter::operator=(BlobWriter&&) noexcept = default;
BlobWriter::~BlobWriter() = default;

Status BlobWriter::fail_and_remove() {
  // Unlink while still holding the lock so that no other writer resumes the bad bytes.
  if (fd_) ::unlink(ingest_path_.c_str());
  fd_.reset();
  return {};
}

void BlobWriter::abort() { (void)fail_and_remove(); }

Status BlobWriter::write(const void* data, size_t size) {
  if (!fd_) return Error(EBADF, "blob " + label(digest_, ingest_path_) + ": writer is closed");
  if (expected_size_ >= 0 && offset_ + size > static_cast<uint64_t>(expected_size_)) {
    (void)fail_and_remove();
    return Error(EILSEQ, "blob " + digest_ + ": size mismatch: more than the expected " +
                             std::to_string(expected_size_) + " bytes");
  }
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd_.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      (void)fail_and_remove();
      return errno_error("write blob " + label(digest_, ingest_path_), err);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  hash_->update(data, size);
  offset_ += size;
  return {};
}

Result<std::string> BlobWriter::commit() {
  if (!fd_) return Error(EBADF, "blob " + label(digest_, ingest_path_) + ": writer is closed");
  if (expected_size_ >= 0 && offset_ != static_cast<uint64_t>(expected_size_)) {
    (void)fail_and_remove();
    return Error(EILSEQ, "blob " + digest_ + ": size mismatch: expected " +
                             std::to_string(expected_size_) + " bytes, got " +
                             std::to_string(offset_));
  }
  std::string actual = "sha256:" + hash_->hex_digest();
  const bool unknown = digest_.empty();
  if (unknown) {
    // The bytes name themselves; there is nothing to compare them with.
    digest_ = actual;
    blob_path_ = blobs_dir_ + "/" + actual.substr(7);
    struct stat st;
    if (::stat(blob_path_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      (void)fail_and_remove();  // already stored (and verified then): skip the fsync
      return digest_;
    }
  }
  if (actual != digest_) {
    (void)fail_and_remove();
    return Error(EILSEQ, "digest mismatch: expected " + digest_ + ", got " + actual);
  }
  // fsync before rename: after a crash, a name in blobs/ must never point at missing data.
  if (::fchmod(fd_.get(), 0444) != 0 || ::fsync(fd_.get()) != 0) {
    int err = errno;
    (void)fail_and_remove();
    return errno_error("sync blob " + digest_, err);
  }
  if (unknown ? rename_noreplace(ingest_path_, blob_path_) != 0
              : ::rename(ingest_path_.c_str(), blob_path_.c_str()) != 0) {
    int err = errno;
    if (unknown && err == EEXIST) {  // another writer published the same bytes meanwhile
      (void)fail_and_remove();
      return digest_;
    }
    (void)fail_and_remove();
    return errno_error("publish blob " + digest_, err);
  }
  UniqueFd dir(::open(blobs_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) ::fsync(dir.get());  // durability of the rename only; the blob is already correct
  fd_.reset();
  return digest_;
}

}  // namespace stack::engine::image
