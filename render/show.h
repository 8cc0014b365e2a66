// Frames of playbacks (render/playback.h): the world of each show side by side, with the task,
// whether its combination was trained or held out, the phase, step, reward and success, and the
// policy's prediction beside the expert's action. One drawing path for every family: the world
// comes from the environment's scene; `hypercomp watch` puts these frames in a window and
// `hypercomp record` writes them to a GIF or PNGs.
#pragma once

#include <string>
#include <vector>

#include "render/canvas.h"
#include "render/playback.h"

namespace hc::render {

// Where a show is: a phase and a step in it; `hold` counts frames spent on a phase's last step.
struct Cursor {
  int phase = 0, step = 0, hold = 0;
};

// Moves to the next frame: the next step, or after the last step of a phase has been shown for
// `hold_frames` frames, the next phase. Returns false (and stays) at the end of the show.
bool advance(const Show& show, Cursor& c, int hold_frames);
// True if the cursor is on the show's last frame.
bool at_end(const Show& show, const Cursor& c);

// Draws every show at its cursor, side by side, and a footer line (e.g. the keys).
void draw_shows(Canvas& canvas, const std::vector<const Show*>& shows,
                const std::vector<Cursor>& cursors, const std::string& footer);

}  // namespace hc::render
