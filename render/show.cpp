#include "render/show.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hc::render {
namespace {

constexpr Color kInk{30, 30, 30}, kMuted{110, 110, 110}, kPolicy{0, 114, 178}, kExpert{213, 94, 0},
    kTrained{0, 140, 90}, kHeldOut{200, 90, 0};

const ShowStep& frame(const Show& s, const Cursor& c) { return s.phases[c.phase].steps[c.step]; }

// The prediction panel: one row per action (or component). Discrete: the policy's probability
// (or predicted value) as a bar, the expert's action marked; a box: the predicted and the
// expert's component as two bars from the centre.
void draw_predictions(Canvas& cv, const Show& show, const ShowStep& f, float x, float y, float w,
                      float h) {
  const size_t n = show.names.size();
  if (n == 0) return;
  const float row = std::min(18.0f, h / static_cast<float>(n));
  const float label_w = std::min(90.0f, w * 0.3f), bar_x = x + label_w + 6,
              bar_w = w - label_w - 60;
  const bool box = !show.discrete;
  float scale = 1.0f;  // values and vectors: the largest magnitude shown fills half the bar
  for (float v : f.predicted) scale = std::max(scale, std::abs(v));
  for (float v : f.expert) scale = std::max(scale, std::abs(v));
  const bool centred = box || f.predicted_kind == "value";
  for (size_t i = 0; i < n; ++i) {
    const float ry = y + i * row;
    const bool expert_here = static_cast<int>(i) == f.expert_choice;
    const bool chosen_here = static_cast<int>(i) == f.chosen;
    cv.text(show.names[i], x, ry + row - 5, 11, chosen_here ? kInk : kMuted);
    cv.fill_rect(bar_x, ry + 3, bar_x + bar_w, ry + row - 3, {236, 236, 236});
    const float mid = centred ? bar_x + bar_w / 2 : bar_x;
    const float unit = centred ? bar_w / 2 / scale : bar_w;
    if (centred) cv.line(mid, ry + 2, mid, ry + row - 2, kMuted);
    if (i < f.predicted.size()) {
      const float v = f.predicted[i];
      cv.fill_rect(mid, ry + 4, mid + v * unit,
                   ry + (centred && !f.expert.empty() ? row / 2 : row - 4), kPolicy);
      cv.text(fmt::format("{:.2f}", v), bar_x + bar_w + 4, ry + row - 5, 10, kPolicy);
    }
    if (centred && i < f.expert.size()) {
      const float v = f.expert[i];
      cv.fill_rect(mid, ry + (f.predicted.empty() ? 4 : row / 2), mid + v * unit, ry + row - 4,
                   kExpert);
    } else if (expert_here) {  // a discrete choice: an outlined marker at the bar's end
      cv.fill_rect(bar_x + bar_w - 6, ry + 3, bar_x + bar_w, ry + row - 3, kExpert);
    }
    if (chosen_here && !box) cv.fill_circle(bar_x - 3, ry + row / 2, 2.5f, kInk);
  }
}

void draw_pane(Canvas& cv, const Show& show, const Cursor& c, float x, float w, float h) {
  const ShowStep& f = frame(show, c);
  const ShowPhase& phase = show.phases[c.phase];
  float y = 18;
  cv.text(fmt::format("{}  ({})", show.label, show.policy), x + 8, y, 14, kInk);
  y += 18;
  cv.text(fmt::format("{}: {}", show.family, show.task), x + 8, y, 12, kInk);
  y += 16;
  cv.text(show.held_out ? "held-out combination (never trained on)" : "trained combination", x + 8,
          y, 12, show.held_out ? kHeldOut : kTrained);
  y += 16;
  std::string status = fmt::format("{} | step {} | reward {:g} | return {:.3f}", phase.title,
                                   f.step, f.reward, f.ret);
  if (f.done) status += f.success ? " | SOLVED" : fmt::format(" | not solved ({})", f.end);
  cv.text(status, x + 8, y, 12, f.done ? (f.success ? kTrained : kHeldOut) : kInk);
  y += 8;
  const size_t rows = show.names.size();
  const float panel = std::min(h * 0.3f, 24.0f + 18.0f * static_cast<float>(rows));
  const float world_h = h - y - panel - 26;
  envs::Scene scene = f.scene;
  scene.caption.clear();
  draw_scene(scene, cv, x + 8, y, w - 16, std::max(10.0f, world_h));
  float py = y + world_h + 16;
  const std::string legend =
      f.predicted_kind == "probability"
          ? "policy: action probabilities (blue), expert's action (orange)"
      : f.predicted_kind == "value"  ? "policy: predicted action values (blue), expert's (orange)"
      : f.predicted_kind == "action" ? "policy: predicted action vector (blue), expert's (orange)"
                                     : "expert's action (orange)";
  cv.text(legend + (f.action.empty() ? "" : " | taken: " + f.action), x + 8, py, 11, kMuted);
  draw_predictions(cv, show, f, x + 8, py + 6, w - 16, panel - 10);
}

}  // namespace

bool at_end(const Show& show, const Cursor& c) {
  return c.phase + 1 == static_cast<int>(show.phases.size()) &&
         c.step + 1 == static_cast<int>(show.phases[c.phase].steps.size());
}

bool advance(const Show& show, Cursor& c, int hold_frames) {
  if (at_end(show, c)) return false;
  const int last = static_cast<int>(show.phases[c.phase].steps.size()) - 1;
  if (c.step < last) {
    ++c.step;
  } else if (c.hold < hold_frames) {
    ++c.hold;
  } else {
    ++c.phase;
    c.step = c.hold = 0;
  }
  return true;
}

void draw_shows(Canvas& cv, const std::vector<const Show*>& shows,
                const std::vector<Cursor>& cursors, const std::string& footer) {
  cv.clear({255, 255, 255});
  const float w = static_cast<float>(cv.width()) / static_cast<float>(shows.size());
  const float h = static_cast<float>(cv.height()) - 18;
  for (size_t i = 0; i < shows.size(); ++i) {
    draw_pane(cv, *shows[i], cursors[i], w * static_cast<float>(i), w, h);
    if (i > 0) cv.line(w * i, 0, w * i, h, {200, 200, 200});
  }
  cv.text(footer, 8, static_cast<float>(cv.height()) - 5, 11, kMuted);
}

}  // namespace hc::render
