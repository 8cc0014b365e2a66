#include "render/gif.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gif_lib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/error.h"

namespace hc::render {
namespace {

constexpr int kR = 6, kG = 7, kB = 6;  // green gets one more level: the eye is most sensitive to it

// The palette index of a colour: the nearest cube entry, or a grey for near-neutral colours.
uint8_t index_of(uint8_t r, uint8_t g, uint8_t b) {
  const int lo = std::min({r, g, b}), hi = std::max({r, g, b});
  if (hi - lo < 12) {  // neutral: the cube's 6 greys plus 4 more, nearest of the ramp
    const int grey = (r + g + b) / 3;
    return static_cast<uint8_t>(kR * kG * kB + std::min(3, grey * 4 / 256));
  }
  const auto level = [](int v, int n) { return (v * (n - 1) + 127) / 255; };
  return static_cast<uint8_t>((level(r, kR) * kG + level(g, kG)) * kB + level(b, kB));
}

}  // namespace

struct GifWriter::File {
  GifFileType* gif = nullptr;
  ColorMapObject* map = nullptr;
  std::vector<GifPixelType> line;
};

GifWriter::GifWriter(const std::string& path, int width, int height, int delay_cs)
    : path_(path),
      tmp_(fmt::format("{}.tmp.{}", path, ::getpid())),
      width_(width),
      height_(height),
      delay_cs_(delay_cs),
      file_(std::make_unique<File>()) {
  int error = 0;
  // Opened here rather than by giflib, which creates files readable by their owner only; an
  // output file gets the usual permissions (0666 less the umask).
  const int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw Error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  file_->gif = EGifOpenFileHandle(fd, &error);
  if (!file_->gif) {
    ::close(fd);
    throw Error(fmt::format("cannot write '{}': {}", path, GifErrorString(error)));
  }
  file_->map = GifMakeMapObject(256, nullptr);
  GifColorType* c = file_->map->Colors;
  for (int r = 0; r < kR; ++r)
    for (int g = 0; g < kG; ++g)
      for (int b = 0; b < kB; ++b)
        *c++ = {static_cast<GifByteType>(r * 255 / (kR - 1)),
                static_cast<GifByteType>(g * 255 / (kG - 1)),
                static_cast<GifByteType>(b * 255 / (kB - 1))};
  for (int i = 0; i < 256 - kR * kG * kB; ++i) {
    const auto v = static_cast<GifByteType>(std::min(255, 32 + i * 74));
    *c++ = {v, v, v};
  }
  EGifSetGifVersion(file_->gif, true);
  if (EGifPutScreenDesc(file_->gif, width, height, 8, 0, file_->map) == GIF_ERROR)
    throw Error(fmt::format("cannot write '{}': {}", path, GifErrorString(file_->gif->Error)));
  // Loop forever (the NETSCAPE2.0 application extension).
  const unsigned char app[] = "NETSCAPE2.0";
  const unsigned char loop[] = {1, 0, 0};
  EGifPutExtensionLeader(file_->gif, APPLICATION_EXT_FUNC_CODE);
  EGifPutExtensionBlock(file_->gif, 11, app);
  EGifPutExtensionBlock(file_->gif, 3, loop);
  EGifPutExtensionTrailer(file_->gif);
  file_->line.resize(width);
}

GifWriter::~GifWriter() {
  if (file_->gif) {
    int error = 0;
    EGifCloseFile(file_->gif, &error);
    std::remove(tmp_.c_str());
  }
  if (file_->map) GifFreeMapObject(file_->map);
}

void GifWriter::add(const Canvas& frame) {
  if (frame.width() != width_ || frame.height() != height_)
    throw Error(fmt::format("GIF '{}': a {}x{} frame in a {}x{} animation", path_, frame.width(),
                            frame.height(), width_, height_));
  GraphicsControlBlock gcb{};
  gcb.DelayTime = delay_cs_;
  gcb.TransparentColor = NO_TRANSPARENT_COLOR;
  GifByteType ext[4];
  const size_t n = EGifGCBToExtension(&gcb, ext);
  EGifPutExtension(file_->gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(n), ext);
  if (EGifPutImageDesc(file_->gif, 0, 0, width_, height_, false, nullptr) == GIF_ERROR)
    throw Error(fmt::format("cannot write '{}': {}", path_, GifErrorString(file_->gif->Error)));
  const uint8_t* p = frame.pixels().data();
  for (int y = 0; y < height_; ++y) {
    for (int x = 0; x < width_; ++x, p += 4) file_->line[x] = index_of(p[0], p[1], p[2]);
    if (EGifPutLine(file_->gif, file_->line.data(), width_) == GIF_ERROR)
      throw Error(fmt::format("cannot write '{}': {}", path_, GifErrorString(file_->gif->Error)));
  }
  ++frames_;
}

int GifWriter::finish() {
  int error = 0;
  const int status = EGifCloseFile(file_->gif, &error);
  file_->gif = nullptr;
  if (status == GIF_ERROR)
    throw Error(fmt::format("cannot write '{}': {}", path_, GifErrorString(error)));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw Error(fmt::format("cannot rename onto '{}'", path_));
  return frames_;
}

}  // namespace hc::render
