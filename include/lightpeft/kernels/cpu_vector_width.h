#pragma once
// The vector width of lightpeft's own CPU kernels that compute an exp (swiglu.h,
// linear_cross_entropy.h): 16 float lanes where the CPU has AVX-512, 8 with AVX2 + FMA, 4 (SSE2)
// otherwise, chosen from the CPU at first use. Each width is its own compiled code path; tests set
// the narrower ones to run all of them on one machine.
namespace lightpeft::kernels {

int cpu_vector_width();         // the lanes in use
int widest_cpu_vector_width();  // what this CPU runs
// 4, 8 or 16, at most widest_cpu_vector_width(); anything else throws lightpeft::Error.
void set_cpu_vector_width(int lanes);

}  // namespace lightpeft::kernels
