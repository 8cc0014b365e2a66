// Animated GIF output (giflib) of canvas frames, for `hypercomp record`. A fixed palette -- a
// 6 x 7 x 6 colour cube and a 4-step grey ramp, 256 entries -- keeps encoding a single pass per
// frame; the frames are diagrams with few colours, where a fixed palette loses little.
#pragma once

#include <memory>
#include <string>

#include "render/canvas.h"

namespace hc::render {

class GifWriter {
 public:
  // `delay_cs`: hundredths of a second each frame is shown. The file appears only on finish().
  GifWriter(const std::string& path, int width, int height, int delay_cs);
  ~GifWriter();
  void add(const Canvas& frame);  // of the writer's size
  // Writes the file (atomically: to a temporary name, then renamed); returns the frame count.
  int finish();

 private:
  struct File;
  std::string path_, tmp_;
  int width_, height_, delay_cs_, frames_ = 0;
  std::unique_ptr<File> file_;
};

}  // namespace hc::render
