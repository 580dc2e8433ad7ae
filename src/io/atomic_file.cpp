#include "lightpeft/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "lightpeft/core/error.h"

namespace lightpeft {

namespace fs = std::filesystem;

namespace {

// A name no concurrent writer (thread or process) of the same target picks: pid + counter + random.
fs::path temp_path_for(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  std::string name = "." + path.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                     std::to_string(counter++) + "." + std::to_string(rd());
  return path.parent_path() / name;
}

// fsync through a fresh descriptor: fsync flushes the inode's dirty pages whichever descriptor
// wrote them, and std::ofstream does not expose its own.
void fsync_path(const fs::path& p, bool directory, const fs::path& target) {
  int fd = ::open(p.c_str(), O_RDONLY | (directory ? O_DIRECTORY : 0) | O_CLOEXEC);
  if (fd < 0) throw_error(target.string(), ": cannot open ", p.string(), " to sync it: ", std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw_error(target.string(), ": fsync of ", p.string(), " failed: ", std::strerror(err));
}

// Removes the temporary file unless released (on every exit path that did not rename it).
struct TempGuard {
  fs::path path;
  bool armed = true;
  ~TempGuard() {
    if (armed) {
      std::error_code ec;
      fs::remove(path, ec);
    }
  }
};

}  // namespace

void write_file_atomic(const fs::path& path, const std::function<void(std::ostream&)>& writer) {
  LP_CHECK(!path.empty() && path.has_filename(), "write_file_atomic: invalid target path '",
           path.string(), "'");
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const fs::path target = path.parent_path().empty() ? dir / path : path;
  TempGuard guard{temp_path_for(target)};
  {
    std::ofstream out(guard.path, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw_error(path.string(), ": cannot create temporary file ", guard.path.string(), ": ",
                  std::strerror(errno));
    }
    try {
      writer(out);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw_error(path.string(), ": writing failed: ", e.what());
    }
    out.flush();
    if (!out) throw_error(path.string(), ": writing the temporary file failed (disk full?)");
    out.close();
    if (out.fail()) throw_error(path.string(), ": closing the temporary file failed (disk full?)");
  }
  fsync_path(guard.path, false, path);
  std::error_code ec;
  fs::rename(guard.path, target, ec);
  if (ec) throw_error(path.string(), ": cannot rename the temporary file over it: ", ec.message());
  guard.armed = false;
  // Make the rename itself durable: the new directory entry lives in the directory's data.
  fsync_path(dir, true, path);
}

void write_text_atomic(const fs::path& path, const std::string& text) {
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  });
}

}  // namespace lightpeft
