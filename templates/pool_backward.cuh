// fusetune template: the gradient a pool step sends back to one element of its input, for the
// backward of a fused chain (generator/chain_derivative.h). Element i (holding v) takes from
// every window that contains it the window's pooled gradient: all of it where i is the window's
// first largest value (max pool, as PyTorch's max pool picks it, NaN winning), else nothing;
// 1 / divisor of it for an avg pool (count_include_pad: the window clipped to the padded
// extent). Nothing is stored: each window's values are recomputed through Step::middle_input.
// pooled_gradient takes one element (every window holding it recomputed: windows that overlap
// or leave elements out); window_gradients takes one window whose elements no other window
// holds (windows tiling the input), its values recomputed once.
//
// Config (one plane of the pool's input and output, per axis d, h, w; a 2-d pool has D = 1,
// K = S = 1 and P = 0 along d):
//   ID, IH, IW        the input's extents          OD, OH, OW   the output's
//   KD, KH, KW        the window                   SD, SH, SW   the stride
//   PD, PH, PW        the padding
//   MAX               max pool (true) or avg pool
//   POOLED_VALUE      whether Step::after_pool reads the pooled value (ops after the pool do)
// Step:
//   float middle_input(long long j) const     the value the pool takes at input element j
//   float after_pool(float pooled, long long o) const
//                                             the gradient of the pooled value at output
//                                             element o (d loss / d output, back through the
//                                             ops after the pool, which read `pooled`)
#pragma once

namespace ft {

// The windows o of one axis that hold position x: o * S - P <= x < o * S - P + K, 0 <= o < O.
template <int K, int S, int P, int O>
__device__ __forceinline__ void windows_holding(int x, int& low, int& high) {
  const int reach = x + P - K + 1;
  low = reach <= 0 ? 0 : (reach + S - 1) / S;
  high = (x + P) / S < O - 1 ? (x + P) / S : O - 1;
}

// Place s of a window (its d, h, w in order) from the window's first element.
template <class C>
__device__ __forceinline__ constexpr int window_offset(int s) {
  return (s / (C::KH * C::KW) * C::IH + s / C::KW % C::KH) * C::IW + s % C::KW;
}

template <class C, class Step>
__device__ __forceinline__ float pooled_gradient(const Step& step, long long i, float v) {
  constexpr int IN_PLANE = C::ID * C::IH * C::IW, OUT_PLANE = C::OD * C::OH * C::OW;
  const long long plane = i / IN_PLANE;
  const int at = static_cast<int>(i % IN_PLANE);
  const int d = at / (C::IH * C::IW), h = at / C::IW % C::IH, w = at % C::IW;
  const long long base = plane * IN_PLANE;
  int d_low, d_high, h_low, h_high, w_low, w_high;
  windows_holding<C::KD, C::SD, C::PD, C::OD>(d, d_low, d_high);
  windows_holding<C::KH, C::SH, C::PH, C::OH>(h, h_low, h_high);
  windows_holding<C::KW, C::SW, C::PW, C::OW>(w, w_low, w_high);
  float g = 0.f;
  for (int od = d_low; od <= d_high; ++od)
    for (int oh = h_low; oh <= h_high; ++oh)
      for (int ow = w_low; ow <= w_high; ++ow) {
        const int d0 = od * C::SD - C::PD, h0 = oh * C::SH - C::PH, w0 = ow * C::SW - C::PW;
        const int d1 = d0 + C::KD < C::ID ? d0 + C::KD : C::ID;
        const int h1 = h0 + C::KH < C::IH ? h0 + C::KH : C::IH;
        const int w1 = w0 + C::KW < C::IW ? w0 + C::KW : C::IW;
        float share = 1.f, pooled = 0.f;
        long long best_at = -1;
        if constexpr (!C::MAX)
          share = 1.f / static_cast<float>(
                            ((d0 + C::KD < C::ID + C::PD ? d0 + C::KD : C::ID + C::PD) - d0) *
                            ((h0 + C::KH < C::IH + C::PH ? h0 + C::KH : C::IH + C::PH) - h0) *
                            ((w0 + C::KW < C::IW + C::PW ? w0 + C::KW : C::IW + C::PW) - w0));
        if (C::MAX || C::POOLED_VALUE) {
          for (int z = d0 < 0 ? 0 : d0; z < d1; ++z)
            for (int y = h0 < 0 ? 0 : h0; y < h1; ++y)
              for (int x = w0 < 0 ? 0 : w0; x < w1; ++x) {
                const long long j = base + (z * C::IH + y) * C::IW + x;
                const float u = j == i ? v : step.middle_input(j);
                if constexpr (C::MAX) {
                  if (best_at < 0 || u > pooled || (u != u && pooled == pooled)) {
                    pooled = u;
                    best_at = j;
                  }
                } else {
                  pooled += u;
                }
              }
          if constexpr (!C::MAX) pooled *= share;
        }
        if (C::MAX && best_at != i) continue;
        g += share * step.after_pool(pooled, plane * OUT_PLANE + (od * C::OH + oh) * C::OW + ow);
      }
  return g;
}

// Windows that tile the input exactly (stride = window, no padding, each extent a multiple of
// the window): window o's values taken once, and each of its elements j handed its gradient g,
// emit(j, g): the pooled gradient at the window's first largest value (max pool, NaN winning)
// and 0 elsewhere, or 1 / its size of it everywhere (avg pool).
template <class C, class Step, class Emit>
__device__ __forceinline__ void window_gradients(const Step& step, long long o, Emit&& emit) {
  constexpr int IN_PLANE = C::ID * C::IH * C::IW, OUT_PLANE = C::OD * C::OH * C::OW;
  constexpr int SIZE = C::KD * C::KH * C::KW;
  const long long plane = o / OUT_PLANE;
  const int at = static_cast<int>(o % OUT_PLANE);
  const int od = at / (C::OH * C::OW), oh = at / C::OW % C::OH, ow = at % C::OW;
  const long long first = plane * IN_PLANE +
                          (od * C::KD * C::IH + oh * C::KH) * static_cast<long long>(C::IW) +
                          ow * C::KW;
  constexpr float share = C::MAX ? 1.f : 1.f / SIZE;
  float pooled = 0.f;
  int best = 0;
  if constexpr (C::MAX || C::POOLED_VALUE) {
    float u[SIZE];
#pragma unroll
    for (int s = 0; s < SIZE; ++s) u[s] = step.middle_input(first + window_offset<C>(s));
    pooled = u[0];
#pragma unroll
    for (int s = 1; s < SIZE; ++s) {
      if constexpr (C::MAX) {
        if (u[s] > pooled || (u[s] != u[s] && pooled == pooled)) {
          pooled = u[s];
          best = s;
        }
      } else {
        pooled += u[s];
      }
    }
    if constexpr (!C::MAX) pooled *= share;
  }
  const float g = share * step.after_pool(pooled, o);
#pragma unroll
  for (int s = 0; s < SIZE; ++s) emit(first + window_offset<C>(s), !C::MAX || s == best ? g : 0.f);
}

}  // namespace ft
