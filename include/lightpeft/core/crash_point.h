#pragma once
// Named points where a test may have the process killed (SIGKILL, as a power cut or the OOM killer
// would), to check that a run killed there resumes to the same result.
//
// LIGHTPEFT_TEST_KILL_AT=<point>:<n> kills the process the n-th time it passes crash_point(<point>).
// It exists for the crash-and-resume tests (tests/cli/crash_resume_test.cpp); without the variable
// a crash point costs one comparison of a cached flag.
#include <string>

namespace lightpeft {

// Points used: "estimate.step", "finetune.step" (after each optimizer step and its checkpoint),
// "estimate.write" (scores written, done marker not yet), "prune" (after the plan is written, and
// after pruned_config.json), "checkpoint.write" (a checkpoint's tensors written, not yet renamed).
void crash_point(const std::string& point);

}  // namespace lightpeft
