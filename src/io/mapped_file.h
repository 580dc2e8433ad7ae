#pragma once
// Private to src/io: a read-only memory mapping of a whole file. Readers of big checkpoints parse
// the mapping in place, so that the kernel pages in only what they touch and loading costs one
// copy of the tensors, not two.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "lightpeft/core/error.h"

namespace lightpeft::io_detail {

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw_error(path.string(), ": cannot open: ", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail(path, "cannot stat");
    if (!S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw_error(path.string(), ": not a regular file");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (p == MAP_FAILED) fail(path, "cannot map");
      data_ = static_cast<const uint8_t*>(p);
    }
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  [[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw_error(path.string(), ": ", what, ": ", std::strerror(err));
  }
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lightpeft::io_detail
