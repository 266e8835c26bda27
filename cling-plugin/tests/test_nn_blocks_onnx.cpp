// The blocks of torchclad/nn_onnx.h (for imported ONNX / TorchScript models),
// compiled with the Clad plugin as a user's definition is. Each block sits in
// a small definition whose LibTorch twin (torch::conv2d, max_pool2d,
// batch_norm, ...) gives: the forward output in float32, the loss and
// autograd's gradient in float64 (relative 1e-9), and central finite
// differences of the definition's own loss; at batch 1, 3 and 17; a
// steady-state step allocates nothing; bad geometry gets an error naming the
// layer, what was expected and what was found.
#include <cmath>
#include <functional>
#include <map>

#include "defined_model_checks.hpp"
#include "torchclad/nn.h"

namespace nn = torchclad::nn;

// ---- Definitions.

// Conv1d with options: from a 2-channel input batch (stride 2, padding 1 at
// the start and 2 at the end, dilation 2), then from an activation (padding
// 1, no bias).
struct Conv1dOptionsNet : nn::Model {
  nn::Conv1d c1{"c1", 2, 3, 3, 11, nn::ConvOptions{2, 1, 2, 2}};
  nn::Act h1{3 * 5};
  nn::Conv1d c2{"c2", 3, 4, 2, 5, nn::ConvOptions{1, 1, 1, -1, false}};
  nn::Act h2{4 * 6}, out{24};
  Conv1dOptionsNet() {
    inputs(2 * 11);
    regression(24);
    output(out);
  }
  template <class T>
  static T loss(const Conv1dOptionsNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c1, p, x, a, m.h1, n);
    nn::conv1d(m.c2, p, a, m.h1, m.h2, n);
    nn::flatten(a, m.h2, m.out, 4, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(conv1d_options_net, Conv1dOptionsNet)

// Conv2d from a 3-channel input (3x3, padding 1), then from an activation
// with stride (2, 1), asymmetric padding (top 1, left 0, bottom 0, right 1)
// and dilation (1, 2).
struct Conv2dNet : nn::Model {
  nn::Conv2d c1{"c1", 3, 4, 3, 3, 6, 5, nn::Conv2dOptions{1, 1, 1, 1}};
  nn::Act h1{4 * 6 * 5};
  nn::Conv2d c2{"c2", 4, 2, 2, 3, 6, 5, nn::Conv2dOptions{2, 1, 1, 0, 1, 2, 0, 1}};
  nn::Act h2{2 * 3 * 2}, out{12};
  Conv2dNet() {
    inputs(3 * 6 * 5);
    regression(12);
    output(out);
  }
  template <class T>
  static T loss(const Conv2dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c1, p, x, a, m.h1, n);
    nn::conv2d(m.c2, p, a, m.h1, m.h2, n);
    nn::flatten(a, m.h2, m.out, 2, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(conv2d_net, Conv2dNet)

// Grouped convolutions: Conv2d with 2 groups, then depthwise (groups = channels)
// with stride 2; a grouped Conv1d from a 4-channel input batch.
struct GroupedConvNet : nn::Model {
  nn::Conv2d c1{"c1", 4, 6, 3, 3, 5, 5, nn::Conv2dOptions{1, 1, 1, 1, 1, 1, -1, -1, true, 2}};
  nn::Act h1{6 * 25};
  nn::Conv2d dw{"dw", 6, 6, 3, 3, 5, 5, nn::Conv2dOptions{2, 2, 1, 1, 1, 1, -1, -1, false, 6}};
  nn::Act h2{6 * 9}, out{54};
  GroupedConvNet() {
    inputs(4 * 25);
    regression(54);
    output(out);
  }
  template <class T>
  static T loss(const GroupedConvNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c1, p, x, a, m.h1, n);
    nn::conv2d(m.dw, p, a, m.h1, m.h2, n);
    nn::flatten(a, m.h2, m.out, 6, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(grouped_conv_net, GroupedConvNet)

struct GroupedConv1dNet : nn::Model {
  nn::Conv1d c1{"c1", 4, 6, 3, 10, nn::ConvOptions{1, 0, 1, -1, true, 2}};
  nn::Act h1{6 * 8};
  nn::Conv1d c2{"c2", 6, 3, 2, 8, nn::ConvOptions{2, 1, 1, -1, true, 3}};
  nn::Act h2{3 * 5}, out{15};
  GroupedConv1dNet() {
    inputs(4 * 10);
    regression(15);
    output(out);
  }
  template <class T>
  static T loss(const GroupedConv1dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c1, p, x, a, m.h1, n);
    nn::conv1d(m.c2, p, a, m.h1, m.h2, n);
    nn::flatten(a, m.h2, m.out, 3, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(grouped_conv1d_net, GroupedConv1dNet)

// A plain Conv1d (stride 1, no padding) from a 3-channel input batch.
struct MultiChannelConv1dNet : nn::Model {
  nn::Conv1d c{"c", 3, 2, 4, 9};
  nn::Act h{2 * 6}, out{12};
  MultiChannelConv1dNet() {
    inputs(3 * 9);
    regression(12);
    output(out);
  }
  template <class T>
  static T loss(const MultiChannelConv1dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::flatten(a, m.h, m.out, 2, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(multi_channel_conv1d_net, MultiChannelConv1dNet)

// MaxPool2d (kernel 3, stride 2, padding 1 but 0 on the right), AvgPool2d
// counting the padding, AvgPool2d not counting it, after a Conv2d.
struct Pool2dNet : nn::Model {
  nn::Conv2d c{"c", 2, 3, 2, 2, 7, 6};
  nn::Act h{3 * 6 * 5};
  nn::MaxPool2d mp{"mp", 3, 6, 5, 3, 3, nn::Pool2dOptions{2, 2, 1, 1, 1, 0}};
  nn::Act m1{3 * 3 * 2};
  nn::AvgPool2d ap1{"ap1", 3, 3, 2, 2, 2, nn::Pool2dOptions{1, 1, 1, 1, -1, -1, true}};
  nn::Act m2{3 * 4 * 3};
  nn::AvgPool2d ap2{"ap2", 3, 4, 3, 3, 2, nn::Pool2dOptions{2, 1, 1, 1}};
  nn::Act m3{3 * 2 * 4}, out{24};
  Pool2dNet() {
    inputs(2 * 7 * 6);
    regression(24);
    output(out);
  }
  template <class T>
  static T loss(const Pool2dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c, p, x, a, m.h, n);
    nn::max_pool2d(m.mp, a, m.h, m.m1, n);
    nn::avg_pool2d(m.ap1, a, m.m1, m.m2, n);
    nn::avg_pool2d(m.ap2, a, m.m2, m.m3, n);
    nn::flatten(a, m.m3, m.out, 3, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(pool2d_net, Pool2dNet)

// MaxPool1d (kernel 3, stride 2, padding 1), AvgPool1d without and with the
// padding counted, after a Conv1d.
struct Pool1dNet : nn::Model {
  nn::Conv1d c{"c", 1, 2, 2, 13};
  nn::Act h{2 * 12};
  nn::MaxPool1d mp{"mp", 2, 12, 3, nn::PoolOptions{2, 1}};
  nn::Act m1{2 * 6};
  nn::AvgPool1d ap1{"ap1", 2, 6, 3, nn::PoolOptions{1, 1}};
  nn::Act m2{2 * 6};
  nn::AvgPool1d ap2{"ap2", 2, 6, 2, nn::PoolOptions{2, 1, -1, true}};
  nn::Act m3{2 * 4}, out{8};
  Pool1dNet() {
    inputs(13);
    regression(8);
    output(out);
  }
  template <class T>
  static T loss(const Pool1dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::max_pool1d(m.mp, a, m.h, m.m1, n);
    nn::avg_pool1d(m.ap1, a, m.m1, m.m2, n);
    nn::avg_pool1d(m.ap2, a, m.m2, m.m3, n);
    nn::flatten(a, m.m3, m.out, 2, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(pool1d_net, Pool1dNet)

// ceil_mode pooling, 2D: MaxPool2d (kernel 3, stride 2, padding 1) gives
// 4 x 3 (floor 3 x 2); AvgPool2d (kernel 2, stride 2) counting the padding
// gives 2 x 2, its last column's windows running past the input: PyTorch
// divides by the window clipped to the padded input (2), not by 4.
struct Pool2dCeilNet : nn::Model {
  nn::Conv2d c{"c", 2, 3, 2, 2, 7, 6};
  nn::Act h{3 * 6 * 5};
  nn::MaxPool2d mp{"mp", 3, 6, 5, 3, 3, nn::Pool2dOptions{2, 2, 1, 1, -1, -1, false, true}};
  nn::Act m1{3 * 4 * 3};
  nn::AvgPool2d ap{"ap", 3, 4, 3, 2, 2, nn::Pool2dOptions{2, 2, 0, 0, -1, -1, true, true}};
  nn::Act m2{3 * 2 * 2}, out{12};
  Pool2dCeilNet() {
    inputs(2 * 7 * 6);
    regression(12);
    output(out);
  }
  template <class T>
  static T loss(const Pool2dCeilNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c, p, x, a, m.h, n);
    nn::max_pool2d(m.mp, a, m.h, m.m1, n);
    nn::avg_pool2d(m.ap, a, m.m1, m.m2, n);
    nn::flatten(a, m.m2, m.out, 3, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(pool2d_ceil_net, Pool2dCeilNet)

// ceil_mode pooling, 1D, each case PyTorch distinguishes: AvgPool1d without
// the padding counted (10 -> 6, the last window one real value), with it
// (6 -> 4, the last window clipped to the end padding: divisor 2), MaxPool1d
// with stride 1 (4 -> 3) and MaxPool1d (kernel 2, stride 2, padding 1) on 3
// values: ceil gives 3 windows, the last would start in the end padding and
// is dropped (2).
struct Pool1dCeilNet : nn::Model {
  nn::Conv1d c{"c", 1, 2, 2, 11};
  nn::Act h{2 * 10};
  nn::AvgPool1d ap1{"ap1", 2, 10, 3, nn::PoolOptions{2, 1, -1, false, true}};
  nn::Act m1{2 * 6};
  nn::AvgPool1d ap2{"ap2", 2, 6, 3, nn::PoolOptions{2, 1, -1, true, true}};
  nn::Act m2{2 * 4};
  nn::MaxPool1d mp1{"mp1", 2, 4, 2, nn::PoolOptions{1, 0, -1, false, true}};
  nn::Act m3{2 * 3};
  nn::MaxPool1d mp2{"mp2", 2, 3, 2, nn::PoolOptions{2, 1, -1, false, true}};
  nn::Act m4{2 * 2}, out{4};
  Pool1dCeilNet() {
    inputs(11);
    regression(4);
    output(out);
  }
  template <class T>
  static T loss(const Pool1dCeilNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::avg_pool1d(m.ap1, a, m.h, m.m1, n);
    nn::avg_pool1d(m.ap2, a, m.m1, m.m2, n);
    nn::max_pool1d(m.mp1, a, m.m2, m.m3, n);
    nn::max_pool1d(m.mp2, a, m.m3, m.m4, n);
    nn::flatten(a, m.m4, m.out, 2, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(pool1d_ceil_net, Pool1dCeilNet)

// Adaptive pooling to output sizes that do not divide the input (PyTorch's
// windows [floor(i L / out), ceil((i + 1) L / out)) differ in size and
// overlap), to the input's own size, and to more values than the input has.
// 1D: average 12 -> 7, max 7 -> 5, average 5 -> 5, max 5 -> 3, average 3 -> 4.
struct AdaptivePool1dNet : nn::Model {
  nn::Conv1d c{"c", 1, 2, 2, 13};
  nn::Act h{2 * 12};
  nn::AdaptiveAvgPool1d ap1{"ap1", 2, 12, 7};
  nn::Act m1{2 * 7};
  nn::AdaptiveMaxPool1d mp1{"mp1", 2, 7, 5};
  nn::Act m2{2 * 5};
  nn::AdaptiveAvgPool1d ap2{"ap2", 2, 5, 5};
  nn::Act m3{2 * 5};
  nn::AdaptiveMaxPool1d mp2{"mp2", 2, 5, 3};
  nn::Act m4{2 * 3};
  nn::AdaptiveAvgPool1d ap3{"ap3", 2, 3, 4};
  nn::Act m5{2 * 4}, out{8};
  AdaptivePool1dNet() {
    inputs(13);
    regression(8);
    output(out);
  }
  template <class T>
  static T loss(const AdaptivePool1dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::adaptive_avg_pool1d(m.ap1, a, m.h, m.m1, n);
    nn::adaptive_max_pool1d(m.mp1, a, m.m1, m.m2, n);
    nn::adaptive_avg_pool1d(m.ap2, a, m.m2, m.m3, n);
    nn::adaptive_max_pool1d(m.mp2, a, m.m3, m.m4, n);
    nn::adaptive_avg_pool1d(m.ap3, a, m.m4, m.m5, n);
    nn::flatten(a, m.m5, m.out, 2, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(adaptive_pool1d_net, AdaptivePool1dNet)

// 2D: average 7x6 -> 5x4, max 5x4 -> 3x4 (the width kept), average 3x4 -> 2x3.
struct AdaptivePool2dNet : nn::Model {
  nn::Conv2d c{"c", 2, 3, 2, 2, 8, 7};
  nn::Act h{3 * 7 * 6};
  nn::AdaptiveAvgPool2d ap1{"ap1", 3, 7, 6, 5, 4};
  nn::Act m1{3 * 5 * 4};
  nn::AdaptiveMaxPool2d mp{"mp", 3, 5, 4, 3, 4};
  nn::Act m2{3 * 3 * 4};
  nn::AdaptiveAvgPool2d ap2{"ap2", 3, 3, 4, 2, 3};
  nn::Act m3{3 * 2 * 3}, out{18};
  AdaptivePool2dNet() {
    inputs(2 * 8 * 7);
    regression(18);
    output(out);
  }
  template <class T>
  static T loss(const AdaptivePool2dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c, p, x, a, m.h, n);
    nn::adaptive_avg_pool2d(m.ap1, a, m.h, m.m1, n);
    nn::adaptive_max_pool2d(m.mp, a, m.m1, m.m2, n);
    nn::adaptive_avg_pool2d(m.ap2, a, m.m2, m.m3, n);
    nn::flatten(a, m.m3, m.out, 3, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(adaptive_pool2d_net, AdaptivePool2dNet)

// An adaptive pooling whose output activation has the wrong width.
struct AdaptiveWrongOutput : nn::Model {
  nn::Conv1d c{"c", 1, 2, 2, 10};
  nn::Act h{2 * 9};
  nn::AdaptiveMaxPool1d mp{"mp", 2, 9, 4};
  nn::Act out{2 * 3};
  AdaptiveWrongOutput() {
    inputs(10);
    regression(6);
    output(out);
  }
  template <class T>
  static T loss(const AdaptiveWrongOutput& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::adaptive_max_pool1d(m.mp, a, m.h, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(adaptive_wrong_output, AdaptiveWrongOutput)

// Axes of a sample: Permute between layouts (channel-major -> batch-major
// and back), softmax / log_softmax over the last and over an inner axis of a
// batch-major sample and over the positions of a channel-major one, and
// Broadcast between activations: [3, 4] times a per-channel [3, 1] from a
// Linear, minus a per-position [1, 4], plus the same shape in the other layout.
struct AxesNet : nn::Model {
  nn::Conv1d c{"c", 2, 3, 2, 5};
  nn::Act h{12};
  nn::Permute t1{"t1", {3, 4}, true, {1, 0}, false};
  nn::Act ht{12}, s1{12}, s2{12};
  nn::Permute t2{"t2", {4, 3}, false, {1, 0}, true};
  nn::Act h2{12}, s3{12};
  nn::Linear g{"g", 10, 3}, f{"f", 10, 4};
  nn::Act gv{3}, fv{4};
  nn::Broadcast b1{"b1", {3, 4}, true, {3, 1}, false, true};
  nn::Broadcast b2{"b2", {3, 4}, true, {1, 4}, false, false};
  nn::Broadcast b3{"b3", {3, 4}, true, {3, 4}, false, true};
  nn::Act m1{12}, m2{12}, m3{12}, out{12};
  AxesNet() {
    inputs(10);
    regression(12);
    output(out);
  }
  template <class T>
  static T loss(const AxesNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::permute(m.t1, a, m.h, m.ht, n);
    nn::softmax_axis(a, m.ht, m.s1, 3, 1, n);
    nn::log_softmax_axis(a, m.s1, m.s2, 4, 3, n);
    nn::permute(m.t2, a, m.s2, m.h2, n);
    nn::softmax_axis(a, m.h2, m.s3, 4, 1, n);
    nn::linear(m.g, p, x, a, m.gv, n);
    nn::linear(m.f, p, x, a, m.fv, n);
    nn::broadcast_mul(m.b1, a, m.s3, m.gv, m.m1, n);
    nn::broadcast_sub(m.b2, a, m.m1, m.fv, m.m2, n);
    nn::broadcast_add(m.b3, a, m.m1, m.m2, m.m3, n);
    nn::flatten(a, m.m3, m.out, 3, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(axes_net, AxesNet)

// Three axes: a Conv2d's output [2, 3, 4] permuted to [4, 2, 3] (channel-major
// both), softmax over its middle axis, times a [1, 2, 1] from a Linear into a
// batch-major output.
struct Axes3dNet : nn::Model {
  nn::Conv2d c{"c", 1, 2, 1, 1, 3, 4};
  nn::Act h{24};
  nn::Permute t{"t", {2, 3, 4}, true, {2, 0, 1}, true};
  nn::Act ht{24}, sm{24};
  nn::Linear g{"g", 12, 2};
  nn::Act gv{2};
  nn::Broadcast b{"b", {4, 2, 3}, true, {1, 2, 1}, false, false};
  nn::Act out{24};
  Axes3dNet() {
    inputs(12);
    regression(24);
    output(out);
  }
  template <class T>
  static T loss(const Axes3dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c, p, x, a, m.h, n);
    nn::permute(m.t, a, m.h, m.ht, n);
    nn::softmax_axis(a, m.ht, m.sm, 2, 3, n);
    nn::linear(m.g, p, x, a, m.gv, n);
    nn::broadcast_mul(m.b, a, m.sm, m.gv, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(axes3d_net, Axes3dNet)

// A Broadcast whose operands do not broadcast: the error names the layer.
struct BroadcastMismatch : nn::Model {
  nn::Broadcast b{"b", {3, 4}, true, {2, 4}, false, true};
  nn::Act out{12};
  BroadcastMismatch() {
    inputs(12);
    regression(12);
    output(out);
  }
  template <class T>
  static T loss(const BroadcastMismatch& m, const T* p, T* a, const T* x, const T* y, int n) {
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(broadcast_mismatch, BroadcastMismatch)

// ceil_mode with a geometry that does not fit: the error names the layer.
struct PoolCeilWrongOutput : nn::Model {
  nn::Conv1d c{"c", 1, 2, 2, 9};
  nn::Act h{16};
  nn::MaxPool1d mp{"mp", 2, 8, 3, nn::PoolOptions{0, 0, -1, false, true}};  // ceil: 3 windows
  nn::Act out{4};
  PoolCeilWrongOutput() {
    inputs(9);
    regression(4);
    output(out);
  }
  template <class T>
  static T loss(const PoolCeilWrongOutput& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::max_pool1d(m.mp, a, m.h, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(pool_ceil_wrong_output, PoolCeilWrongOutput)

// Conv2d -> ReLU -> MaxPool2d -> Flatten -> Gemm, as a PyTorch image
// classifier writes it: flatten gives torch.flatten(x, 1)'s order.
struct SmallImageCnn : nn::Model {
  nn::Conv2d conv{"conv", 1, 4, 3, 3, 8, 8, nn::Conv2dOptions{1, 1, 1, 1}};
  nn::Act h{4 * 8 * 8}, r{4 * 8 * 8};
  nn::MaxPool2d pool{"pool", 4, 8, 8, 2, 2};
  nn::Act pooled{4 * 4 * 4}, flat{64};
  nn::Linear fc{"fc", 64, 5};
  nn::Act logits{5};
  SmallImageCnn() {
    inputs(64);
    classes(5);
    output(logits);
  }
  template <class T>
  static T loss(const SmallImageCnn& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.conv, p, x, a, m.h, n);
    nn::relu(a, m.h, m.r, n);
    nn::max_pool2d(m.pool, a, m.r, m.pooled, n);
    nn::flatten(a, m.pooled, m.flat, 4, n);
    nn::linear(m.fc, p, a, m.flat, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(small_image_cnn, SmallImageCnn)

// LeakyReLU, then Softmax / LogSoftmax over each sample's values.
struct LeakySoftmaxNet : nn::Model {
  nn::Linear fc1{"fc1", 6, 8};
  nn::Act z1{8}, h1{8};
  nn::Linear fc2{"fc2", 8, 5};
  nn::Act z2{5}, out{5};
  LeakySoftmaxNet() {
    inputs(6);
    regression(5);
    output(out);
  }
  template <class T>
  static T loss(const LeakySoftmaxNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::leaky_relu(a, m.z1, m.h1, 0.1, n);
    nn::linear(m.fc2, p, a, m.h1, m.z2, n);
    nn::softmax(a, m.z2, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(leaky_softmax_net, LeakySoftmaxNet)

// LeakyReLU, Clip (as ONNX's, between -0.1 and 0.6), LogSoftmax.
struct LogSoftmaxNet : nn::Model {
  nn::Linear fc1{"fc1", 6, 8};
  nn::Act z1{8}, h1{8}, c1{8};
  nn::Linear fc2{"fc2", 8, 5};
  nn::Act z2{5}, out{5};
  LogSoftmaxNet() {
    inputs(6);
    regression(5);
    output(out);
  }
  template <class T>
  static T loss(const LogSoftmaxNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::leaky_relu(a, m.z1, m.h1, 0.2, n);
    nn::clip(a, m.h1, m.c1, -0.1, 0.6, n);
    nn::linear(m.fc2, p, a, m.c1, m.z2, n);
    nn::log_softmax(a, m.z2, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(log_softmax_net, LogSoftmaxNet)

// The smooth activations of pretrained models (nn.h), side by side on one
// Linear's output scaled by 4 (so that each meets its regions: ELU's
// exponential side, Softplus past its threshold, HardSigmoid saturated,
// HardSwish below -3 and above 3), concatenated into a regression head.
static const double kFour[1] = {4.0};
struct SmoothActivationsNet : nn::Model {
  nn::Linear fc1{"fc1", 6, 8};
  nn::Const four{"four", kFour, {1}};
  nn::Act z{8}, u{8}, elu{8}, gelu{8}, gelu_tanh{8}, silu{8}, softplus{8}, hsig{8}, hswish{8};
  nn::Act c1{16}, c2{24}, c3{32}, c4{40}, c5{48}, c6{56};
  nn::Linear fc2{"fc2", 56, 3};
  nn::Act out{3};
  SmoothActivationsNet() {
    inputs(6);
    regression(3);
    output(out);
  }
  template <class T>
  static T loss(const SmoothActivationsNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z, n);
    nn::mul(a, m.z, m.four, m.u, 0, n);
    nn::elu(a, m.u, m.elu, 0.7, n);
    nn::gelu(a, m.u, m.gelu, n);
    nn::gelu_tanh(a, m.u, m.gelu_tanh, n);
    nn::silu(a, m.u, m.silu, n);
    nn::softplus(a, m.u, m.softplus, 1.5, 3.0, n);
    nn::hard_sigmoid(a, m.u, m.hsig, 0.3, 0.5, n);
    nn::hard_swish(a, m.u, m.hswish, n);
    nn::concat_features(a, m.elu, m.gelu, m.c1, n);
    nn::concat_features(a, m.c1, m.gelu_tanh, m.c2, n);
    nn::concat_features(a, m.c2, m.silu, m.c3, n);
    nn::concat_features(a, m.c3, m.softplus, m.c4, n);
    nn::concat_features(a, m.c4, m.hsig, m.c5, n);
    nn::concat_features(a, m.c5, m.hswish, m.c6, n);
    nn::linear(m.fc2, p, a, m.c6, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(smooth_activations_net, SmoothActivationsNet)

// BatchNorm's constants (as an importer writes them into the definition).
static const double kBn2dMean[3] = {0.3, -0.2, 0.1}, kBn2dVar[3] = {1.5, 0.7, 2.0};
static const double kBn1dMean[6] = {0.1, -0.3, 0.2, 0.0, 0.5, -0.1},
                    kBn1dVar[6] = {0.5, 1.2, 2.0, 0.9, 1.1, 0.3},
                    kBn1dGamma[6] = {1.2, 0.8, -0.5, 1.0, 0.3, 2.0},
                    kBn1dBeta[6] = {0.1, 0.0, -0.2, 0.3, 0.05, -0.4};

// Conv2d -> BatchNorm2d (trainable gamma and beta, frozen running statistics) -> ReLU.
struct BatchNorm2dNet : nn::Model {
  nn::Conv2d c{"c", 2, 3, 3, 3, 5, 4, nn::Conv2dOptions{1, 1, 1, 1}};
  nn::Act h{3 * 20};
  nn::Const mean{"bn.running_mean", kBn2dMean, {3}}, var{"bn.running_var", kBn2dVar, {3}};
  nn::BatchNorm bn{"bn", 3, 20, mean, var};
  nn::Act b{3 * 20}, r{3 * 20}, out{60};
  BatchNorm2dNet() {
    inputs(2 * 5 * 4);
    regression(60);
    output(out);
  }
  template <class T>
  static T loss(const BatchNorm2dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c, p, x, a, m.h, n);
    nn::batch_norm(m.bn, p, a, m.h, m.b, n);
    nn::relu(a, m.b, m.r, n);
    nn::flatten(a, m.r, m.out, 3, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(batch_norm2d_net, BatchNorm2dNet)

// Linear -> BatchNorm1d in its inference form (every value a constant, eps
// 1e-3) over [n, features] -> tanh -> Linear, a classifier.
struct BatchNorm1dInferenceNet : nn::Model {
  nn::Linear fc1{"fc1", 4, 6};
  nn::Act z1{6}, b1{6}, t1{6};
  nn::Const mean{"bn.running_mean", kBn1dMean, {6}}, var{"bn.running_var", kBn1dVar, {6}},
      gamma{"bn.weight", kBn1dGamma, {6}}, beta{"bn.bias", kBn1dBeta, {6}};
  nn::BatchNorm bn{"bn", 6, 0, mean, var, gamma, beta, 1e-3};
  nn::Linear fc2{"fc2", 6, 3};
  nn::Act logits{3};
  BatchNorm1dInferenceNet() {
    inputs(4);
    classes(3);
    output(logits);
  }
  template <class T>
  static T loss(const BatchNorm1dInferenceNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::batch_norm(m.bn, p, a, m.z1, m.b1, n);
    nn::tanh(a, m.b1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(batch_norm1d_inference_net, BatchNorm1dInferenceNet)

// Broadcasting operands of channel-major activations: a per-channel and a
// scalar parameter, constants per sample value, per channel and scalar;
// then activation with activation (a residual add, mul, sub, a square), and a
// concat along channels.
static const double kPerValue[18] = {0.1, -0.2, 0.3,  0.05, 0.0, -0.4, 0.2,  0.25,  -0.1,
                                     0.6, -0.3, 0.15, 0.0,  0.1, -0.2, 0.35, -0.05, 0.2};
static const double kPerChannel[3] = {1.5, -2.0, 0.8}, kOne[1] = {1.0};
struct BroadcastNet : nn::Model {
  nn::Conv2d c{"c", 2, 3, 2, 2, 4, 3};
  nn::Param q_ch{"q_ch", {3, 1, 1}}, q_s{"q_s", {1}};
  nn::Const per_value{"per_value", kPerValue, {3, 3, 2}}, per_channel{"per_channel", kPerChannel, {3, 1, 1}},
      one{"one", kOne, {1}};
  nn::Act h{18}, h1{18}, h2{18}, h3{18}, h4{18}, h5{18}, h6{18}, h7{18}, h8{18}, h9{18}, cat{36}, out{36};
  BroadcastNet() {
    inputs(2 * 4 * 3);
    regression(36);
    output(out);
  }
  template <class T>
  static T loss(const BroadcastNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c, p, x, a, m.h, n);
    nn::add(p, a, m.h, m.q_ch, m.h1, 3, n);
    nn::mul(p, a, m.h1, m.q_s, m.h2, 3, n);
    nn::sub(a, m.h2, m.per_value, m.h3, 3, n);
    nn::div(a, m.h3, m.per_channel, m.h4, 3, n);
    nn::rsub(a, m.h4, m.one, m.h5, 3, n);
    nn::add(a, m.h5, m.h, m.h6, n);
    nn::mul(a, m.h6, m.h1, m.h7, n);
    nn::sub(a, m.h7, m.h2, m.h8, n);
    nn::mul(a, m.h8, m.h8, m.h9, n);
    nn::concat_channels(a, m.h9, m.h, m.cat, n);
    nn::flatten(a, m.cat, m.out, 6, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(broadcast_net, BroadcastNet)

// Operands of [n, features] activations (channels 0), a parameter's
// subtraction from a constant, a concat along the features.
static const double kFeatureScale[4] = {0.5, -1.0, 2.0, 0.25};
struct FeatureBroadcastNet : nn::Model {
  nn::Linear fc1{"fc1", 5, 4};
  nn::Param shift{"shift", {4}};
  nn::Const scale{"scale", kFeatureScale, {4}};
  nn::Act z{4}, s1{4}, s2{4}, s3{4}, cat{8};
  nn::Linear fc2{"fc2", 8, 3};
  nn::Act out{3};
  FeatureBroadcastNet() {
    inputs(5);
    regression(3);
    output(out);
  }
  template <class T>
  static T loss(const FeatureBroadcastNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z, n);
    nn::add(p, a, m.z, m.shift, m.s1, 0, n);
    nn::mul(a, m.s1, m.scale, m.s2, 0, n);
    nn::rsub(p, a, m.s2, m.shift, m.s3, 0, n);
    nn::concat_features(a, m.s3, m.z, m.cat, n);
    nn::linear(m.fc2, p, a, m.cat, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(feature_broadcast_net, FeatureBroadcastNet)

// Linear layers without bias (ONNX Gemm without C, MatMul), from the input
// batch and from an activation.
struct NoBiasMlp : nn::Model {
  nn::Linear fc1{"fc1", 5, 7, nn::no_bias};
  nn::Act z1{7}, t1{7};
  nn::Linear fc2{"fc2", 7, 3, nn::no_bias, nn::Init::kXavierUniform};
  nn::Act logits{3};
  NoBiasMlp() {
    inputs(5);
    classes(3);
    output(logits);
  }
  template <class T>
  static T loss(const NoBiasMlp& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(no_bias_mlp, NoBiasMlp)

// A Linear's output reshaped for a convolution ([n, 2*3*4] -> [2, n, 3, 4]).
struct UnflattenNet : nn::Model {
  nn::Linear fc{"fc", 12, 24};
  nn::Act z{24}, zc{24};
  nn::Conv2d c{"c", 2, 2, 2, 2, 3, 4};
  nn::Act h{12}, out{12};
  UnflattenNet() {
    inputs(12);
    regression(12);
    output(out);
  }
  template <class T>
  static T loss(const UnflattenNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc, p, x, a, m.z, n);
    nn::unflatten(a, m.z, m.zc, 2, n);
    nn::conv2d(m.c, p, a, m.zc, m.h, n);
    nn::flatten(a, m.h, m.out, 2, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(unflatten_net, UnflattenNet)

// Softmax and LogSoftmax over the channels of a convolution's output.
struct ChannelSoftmaxNet : nn::Model {
  nn::Conv1d c{"c", 2, 3, 2, 6};
  nn::Act h{3 * 5}, s{3 * 5}, ls{3 * 5}, out{15};
  ChannelSoftmaxNet() {
    inputs(2 * 6);
    regression(15);
    output(out);
  }
  template <class T>
  static T loss(const ChannelSoftmaxNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::softmax_channels(a, m.h, m.s, 3, n);
    nn::log_softmax_channels(a, m.s, m.ls, 3, n);
    nn::flatten(a, m.ls, m.out, 3, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(channel_softmax_net, ChannelSoftmaxNet)

// MaxPool1d with windows side by side (stride = kernel, no padding), which
// runs the built-in CNN's kernel: windows of 4 (vectorised) and of 3, on
// lengths they do not divide (floor).
struct TiledPool1dNet : nn::Model {
  nn::Conv1d c{"c", 2, 3, 3, 20};
  nn::Act h{3 * 18};
  nn::MaxPool1d p4{"p4", 3, 18, 4};
  nn::Act m4{3 * 4};
  nn::Conv1d c2{"c2", 3, 2, 1, 4};
  nn::Act h2{2 * 4};
  nn::MaxPool1d p3{"p3", 2, 4, 3};
  nn::Act m3{2 * 1}, out{2};
  TiledPool1dNet() {
    inputs(2 * 20);
    regression(2);
    output(out);
  }
  template <class T>
  static T loss(const TiledPool1dNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::max_pool1d(m.p4, a, m.h, m.m4, n);
    nn::conv1d(m.c2, p, a, m.m4, m.h2, n);
    nn::max_pool1d(m.p3, a, m.h2, m.m3, n);
    nn::flatten(a, m.m3, m.out, 2, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(tiled_pool1d_net, TiledPool1dNet)

// ---- Bad definitions.

struct Conv2dWrongOutput : nn::Model {
  nn::Conv2d c{"c", 1, 2, 2, 2, 4, 4, nn::Conv2dOptions{1, 1}};
  nn::Act out{10};
  Conv2dWrongOutput() {
    inputs(16);
    regression(10);
    output(out);
  }
  template <class T>
  static T loss(const Conv2dWrongOutput& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c, p, x, a, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(conv2d_wrong_output, Conv2dWrongOutput)

struct PoolWrongInput : nn::Model {
  nn::Conv1d c{"c", 1, 2, 2, 9};
  nn::Act h{16};
  nn::MaxPool1d mp{"mp", 2, 9, 2};  // the conv gives 2 x 8
  nn::Act out{8};
  PoolWrongInput() {
    inputs(9);
    regression(8);
    output(out);
  }
  template <class T>
  static T loss(const PoolWrongInput& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv1d(m.c, p, x, a, m.h, n);
    nn::max_pool1d(m.mp, a, m.h, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(pool_wrong_input, PoolWrongInput)

struct BroadcastWrongSize : nn::Model {
  nn::Conv2d c{"c", 1, 3, 2, 2, 4, 3};
  nn::Param q{"q", {5}};
  nn::Act h{18}, h1{18};
  BroadcastWrongSize() {
    inputs(12);
    regression(18);
    output(h1);
  }
  template <class T>
  static T loss(const BroadcastWrongSize& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.c, p, x, a, m.h, n);
    nn::mul(p, a, m.h, m.q, m.h1, 3, n);
    return nn::mse(a, m.h1, y, n);
  }
};
TORCHCLAD_MODEL(broadcast_wrong_size, BroadcastWrongSize)

struct BatchNormWrongStats : nn::Model {
  nn::Const mean{"mean", kBn2dMean, {2}}, var{"var", kBn2dVar, {3}};
  nn::BatchNorm bn{"bn", 3, 4, mean, var};
  nn::Act out{12};
  BatchNormWrongStats() {
    inputs(12);
    regression(12);
    output(out);
  }
  template <class T>
  static T loss(const BatchNormWrongStats& m, const T* p, T* a, const T* x, const T* y, int n) {
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(batch_norm_wrong_stats, BatchNormWrongStats)

struct BatchNormWrongWidth : nn::Model {
  nn::Linear fc{"fc", 4, 5};
  nn::Act z{5}, out{5};
  nn::Const mean{"mean", kBn1dMean, {6}}, var{"var", kBn1dVar, {6}};
  nn::BatchNorm bn{"bn", 6, 0, mean, var};
  BatchNormWrongWidth() {
    inputs(4);
    regression(5);
    output(out);
  }
  template <class T>
  static T loss(const BatchNormWrongWidth& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc, p, x, a, m.z, n);
    nn::batch_norm(m.bn, p, a, m.z, m.out, n);
    return nn::mse(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(batch_norm_wrong_width, BatchNormWrongWidth)

namespace torchclad {
namespace {

using namespace torchclad::testing;
namespace F = torch::nn::functional;

// A definition's constant values as a float64 tensor (torch::tensor of
// doubles would round them to the default float32).
torch::Tensor constant(const double* v, int64_t count) {
  return torch::from_blob(const_cast<double*>(v), {count}, torch::kFloat64).clone();
}

// The LibTorch twin of each definition: its output [n, output_width] from the
// flat parameters p and the input batch x [n, inputs] (any float type).
using Twin =
    std::function<torch::Tensor(const define::Definition&, const torch::Tensor& p, const torch::Tensor& x)>;

const std::map<std::string, Twin>& twins() {
  static const std::map<std::string, Twin> t = {
      {"conv1d_options_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::pad(x.view({x.size(0), 2, 11}), F::PadFuncOptions({1, 2}));
         h = F::conv1d(h, view(p, d, "c1.weight"),
                       F::Conv1dFuncOptions().bias(view(p, d, "c1.bias")).stride(2).dilation(2));
         h = F::conv1d(h, view(p, d, "c2.weight"), F::Conv1dFuncOptions().padding(1));
         return h.flatten(1);
       }},
      {"conv2d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv2d(x.view({x.size(0), 3, 6, 5}), view(p, d, "c1.weight"),
                            F::Conv2dFuncOptions().bias(view(p, d, "c1.bias")).padding(1));
         h = F::pad(h, F::PadFuncOptions({0, 1, 1, 0}));  // left, right, top, bottom
         h = F::conv2d(h, view(p, d, "c2.weight"),
                       F::Conv2dFuncOptions().bias(view(p, d, "c2.bias")).stride({2, 1}).dilation({1, 2}));
         return h.flatten(1);
       }},
      {"grouped_conv_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv2d(x.view({x.size(0), 4, 5, 5}), view(p, d, "c1.weight"),
                            F::Conv2dFuncOptions().bias(view(p, d, "c1.bias")).padding(1).groups(2));
         h = F::conv2d(h, view(p, d, "dw.weight"), F::Conv2dFuncOptions().stride(2).padding(1).groups(6));
         return h.flatten(1);
       }},
      {"grouped_conv1d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv1d(x.view({x.size(0), 4, 10}), view(p, d, "c1.weight"),
                            F::Conv1dFuncOptions().bias(view(p, d, "c1.bias")).groups(2));
         h = F::conv1d(h, view(p, d, "c2.weight"),
                       F::Conv1dFuncOptions().bias(view(p, d, "c2.bias")).stride(2).padding(1).groups(3));
         return h.flatten(1);
       }},
      {"multi_channel_conv1d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         return F::conv1d(x.view({x.size(0), 3, 9}), view(p, d, "c.weight"),
                          F::Conv1dFuncOptions().bias(view(p, d, "c.bias")))
             .flatten(1);
       }},
      {"pool2d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv2d(x.view({x.size(0), 2, 7, 6}), view(p, d, "c.weight"),
                            F::Conv2dFuncOptions().bias(view(p, d, "c.bias")));
         h = F::pad(h, F::PadFuncOptions({1, 0, 1, 1}).value(-INFINITY));
         h = torch::max_pool2d(h, {3, 3}, {2, 2});
         h = torch::avg_pool2d(h, {2, 2}, {1, 1}, {1, 1}, false, true);
         h = torch::avg_pool2d(h, {3, 2}, {2, 1}, {1, 1}, false, false);
         return h.flatten(1);
       }},
      {"pool1d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv1d(x.view({x.size(0), 1, 13}), view(p, d, "c.weight"),
                            F::Conv1dFuncOptions().bias(view(p, d, "c.bias")));
         h = torch::max_pool1d(h, {3}, {2}, {1});
         h = torch::avg_pool1d(h, {3}, {1}, {1}, false, false);
         h = torch::avg_pool1d(h, {2}, {2}, {1}, false, true);
         return h.flatten(1);
       }},
      {"pool2d_ceil_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv2d(x.view({x.size(0), 2, 7, 6}), view(p, d, "c.weight"),
                            F::Conv2dFuncOptions().bias(view(p, d, "c.bias")));
         h = torch::max_pool2d(h, {3, 3}, {2, 2}, {1, 1}, {1, 1}, /*ceil_mode=*/true);
         h = torch::avg_pool2d(h, {2, 2}, {2, 2}, {0, 0}, /*ceil_mode=*/true, /*count_include_pad=*/true);
         return h.flatten(1);
       }},
      {"pool1d_ceil_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv1d(x.view({x.size(0), 1, 11}), view(p, d, "c.weight"),
                            F::Conv1dFuncOptions().bias(view(p, d, "c.bias")));
         h = torch::avg_pool1d(h, {3}, {2}, {1}, /*ceil_mode=*/true, /*count_include_pad=*/false);
         h = torch::avg_pool1d(h, {3}, {2}, {1}, true, true);
         h = torch::max_pool1d(h, {2}, {1}, {0}, {1}, true);
         h = torch::max_pool1d(h, {2}, {2}, {1}, {1}, true);
         return h.flatten(1);
       }},
      {"axes_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         const int64_t n = x.size(0);
         auto h = F::conv1d(x.view({n, 2, 5}), view(p, d, "c.weight"),
                            F::Conv1dFuncOptions().bias(view(p, d, "c.bias")));
         auto s = torch::log_softmax(torch::softmax(h.transpose(1, 2), 2), 1);  // [n, 4, 3]
         auto m1 = torch::softmax(s.transpose(1, 2), 2) *
                   F::linear(x, view(p, d, "g.weight"), view(p, d, "g.bias")).view({n, 3, 1});
         auto m2 = m1 - F::linear(x, view(p, d, "f.weight"), view(p, d, "f.bias")).view({n, 1, 4});
         return (m1 + m2).flatten(1);
       }},
      {"axes3d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         const int64_t n = x.size(0);
         auto h = F::conv2d(x.view({n, 1, 3, 4}), view(p, d, "c.weight"),
                            F::Conv2dFuncOptions().bias(view(p, d, "c.bias")));
         auto s = torch::softmax(h.permute({0, 3, 1, 2}), 2);  // [n, 4, 2, 3]
         return (s * F::linear(x, view(p, d, "g.weight"), view(p, d, "g.bias")).view({n, 1, 2, 1}))
             .flatten(1);
       }},
      {"small_image_cnn",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv2d(x.view({x.size(0), 1, 8, 8}), view(p, d, "conv.weight"),
                            F::Conv2dFuncOptions().bias(view(p, d, "conv.bias")).padding(1));
         h = torch::max_pool2d(torch::relu(h), {2, 2});
         return F::linear(torch::flatten(h, 1), view(p, d, "fc.weight"), view(p, d, "fc.bias"));
       }},
      {"leaky_softmax_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::leaky_relu(F::linear(x, view(p, d, "fc1.weight"), view(p, d, "fc1.bias")),
                                F::LeakyReLUFuncOptions().negative_slope(0.1));
         return torch::softmax(F::linear(h, view(p, d, "fc2.weight"), view(p, d, "fc2.bias")), 1);
       }},
      {"log_softmax_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::leaky_relu(F::linear(x, view(p, d, "fc1.weight"), view(p, d, "fc1.bias")),
                                F::LeakyReLUFuncOptions().negative_slope(0.2));
         h = torch::clamp(h, -0.1, 0.6);
         return torch::log_softmax(F::linear(h, view(p, d, "fc2.weight"), view(p, d, "fc2.bias")), 1);
       }},
      {"smooth_activations_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto u = F::linear(x, view(p, d, "fc1.weight"), view(p, d, "fc1.bias")) * 4.0;
         auto h = torch::cat({F::elu(u, F::ELUFuncOptions().alpha(0.7)), F::gelu(u),
                              F::gelu(u, F::GELUFuncOptions().approximate("tanh")), F::silu(u),
                              F::softplus(u, F::SoftplusFuncOptions().beta(1.5).threshold(3.0)),
                              torch::clamp(u * 0.3 + 0.5, 0.0, 1.0), torch::hardswish(u)},
                             1);
         return F::linear(h, view(p, d, "fc2.weight"), view(p, d, "fc2.bias"));
       }},
      {"batch_norm2d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv2d(x.view({x.size(0), 2, 5, 4}), view(p, d, "c.weight"),
                            F::Conv2dFuncOptions().bias(view(p, d, "c.bias")).padding(1));
         auto o = p.options().requires_grad(false);
         h = torch::batch_norm(h, view(p, d, "bn.weight"), view(p, d, "bn.bias"),
                               constant(kBn2dMean, 3).to(o), constant(kBn2dVar, 3).to(o), false, 0.1, 1e-5,
                               false);
         return torch::relu(h).flatten(1);
       }},
      {"batch_norm1d_inference_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto o = p.options().requires_grad(false);
         auto c = [&](const double* v) { return constant(v, 6).to(o); };
         auto h = F::linear(x, view(p, d, "fc1.weight"), view(p, d, "fc1.bias"));
         h = torch::batch_norm(h, c(kBn1dGamma), c(kBn1dBeta), c(kBn1dMean), c(kBn1dVar), false, 0.1, 1e-3,
                               false);
         return F::linear(torch::tanh(h), view(p, d, "fc2.weight"), view(p, d, "fc2.bias"));
       }},
      {"broadcast_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto o = p.options().requires_grad(false);
         auto h = F::conv2d(x.view({x.size(0), 2, 4, 3}), view(p, d, "c.weight"),
                            F::Conv2dFuncOptions().bias(view(p, d, "c.bias")));
         auto h1 = h + view(p, d, "q_ch");
         auto h2 = h1 * view(p, d, "q_s");
         auto h3 = h2 - constant(kPerValue, 18).to(o).view({3, 3, 2});
         auto h4 = h3 / constant(kPerChannel, 3).to(o).view({3, 1, 1});
         auto h5 = 1.0 - h4;
         auto h8 = (h5 + h) * h1 - h2;
         return torch::cat({h8 * h8, h}, 1).flatten(1);
       }},
      {"feature_broadcast_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto o = p.options().requires_grad(false);
         auto z = F::linear(x, view(p, d, "fc1.weight"), view(p, d, "fc1.bias"));
         auto s2 = (z + view(p, d, "shift")) * constant(kFeatureScale, 4).to(o);
         auto s3 = view(p, d, "shift") - s2;
         return F::linear(torch::cat({s3, z}, 1), view(p, d, "fc2.weight"), view(p, d, "fc2.bias"));
       }},
      {"no_bias_mlp",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         return F::linear(torch::tanh(F::linear(x, view(p, d, "fc1.weight"))), view(p, d, "fc2.weight"));
       }},
      {"channel_softmax_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv1d(x.view({x.size(0), 2, 6}), view(p, d, "c.weight"),
                            F::Conv1dFuncOptions().bias(view(p, d, "c.bias")));
         return torch::log_softmax(torch::softmax(h, 1), 1).flatten(1);
       }},
      {"tiled_pool1d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv1d(x.view({x.size(0), 2, 20}), view(p, d, "c.weight"),
                            F::Conv1dFuncOptions().bias(view(p, d, "c.bias")));
         h = F::conv1d(torch::max_pool1d(h, {4}), view(p, d, "c2.weight"),
                       F::Conv1dFuncOptions().bias(view(p, d, "c2.bias")));
         return torch::max_pool1d(h, {3}).flatten(1);
       }},
      {"adaptive_pool1d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv1d(x.view({x.size(0), 1, 13}), view(p, d, "c.weight"),
                            F::Conv1dFuncOptions().bias(view(p, d, "c.bias")));
         h = torch::adaptive_avg_pool1d(h, {7});
         h = std::get<0>(torch::adaptive_max_pool1d(h, {5}));
         h = torch::adaptive_avg_pool1d(h, {5});
         h = std::get<0>(torch::adaptive_max_pool1d(h, {3}));
         return torch::adaptive_avg_pool1d(h, {4}).flatten(1);
       }},
      {"adaptive_pool2d_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto h = F::conv2d(x.view({x.size(0), 2, 8, 7}), view(p, d, "c.weight"),
                            F::Conv2dFuncOptions().bias(view(p, d, "c.bias")));
         h = torch::adaptive_avg_pool2d(h, {5, 4});
         h = std::get<0>(torch::adaptive_max_pool2d(h, {3, 4}));
         return torch::adaptive_avg_pool2d(h, {2, 3}).flatten(1);
       }},
      {"unflatten_net",
       [](const define::Definition& d, const torch::Tensor& p, const torch::Tensor& x) {
         auto z = F::linear(x, view(p, d, "fc.weight"), view(p, d, "fc.bias")).view({x.size(0), 2, 3, 4});
         return F::conv2d(z, view(p, d, "c.weight"), F::Conv2dFuncOptions().bias(view(p, d, "c.bias")))
             .flatten(1);
       }},
  };
  return t;
}

torch::Tensor twin_loss(const define::Definition& d, const torch::Tensor& out, const torch::Tensor& y) {
  if (d.targets == define::Targets::kClassIndex) return F::cross_entropy(out, y.view({-1}).to(torch::kInt64));
  return F::mse_loss(out, y.view_as(out));
}

class BlockGradient : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(BlockGradient, MatchesLibTorchAutogradAndFiniteDifferences) {
  const auto [name, n] = GetParam();
  const auto d = def(name);
  const Twin& twin = twins().at(name);
  DefinedModel model(d, 7);
  const auto s = sample(*d, n, 100 + n, 0.2);
  auto x = to_tensor(s.x, {n, d->inputs});

  // Forward in float32: the definition's outputs against the LibTorch twin's.
  model.params().copy_(to_tensor(s.params, {d->param_count}).to(torch::kFloat32));
  const auto out32 = model.forward(x.to(torch::kFloat32));
  const auto ref32 = twin(*d, model.params(), x.to(torch::kFloat32));
  ASSERT_EQ(out32.sizes(), ref32.sizes()) << name;
  EXPECT_TRUE(torch::allclose(out32, ref32, 1e-5, 1e-5))
      << name << ": worst " << (out32 - ref32).abs().max().item<double>();

  // Float64: loss and gradient against autograd and finite differences.
  expect_gradient_matches(name, model, s, n,
                          [&](const torch::Tensor& p, const torch::Tensor& x, const torch::Tensor& y) {
                            return twin_loss(*d, twin(*d, p, x), y);
                          });
}

INSTANTIATE_TEST_SUITE_P(
    Blocks, BlockGradient,
    ::testing::Combine(::testing::Values("conv1d_options_net", "conv2d_net", "grouped_conv_net",
                                         "grouped_conv1d_net", "multi_channel_conv1d_net", "pool2d_net",
                                         "pool1d_net", "pool2d_ceil_net", "pool1d_ceil_net", "axes_net",
                                         "axes3d_net", "small_image_cnn", "leaky_softmax_net",
                                         "log_softmax_net", "smooth_activations_net", "batch_norm2d_net",
                                         "batch_norm1d_inference_net", "broadcast_net",
                                         "feature_broadcast_net", "unflatten_net", "no_bias_mlp",
                                         "channel_softmax_net", "tiled_pool1d_net", "adaptive_pool1d_net",
                                         "adaptive_pool2d_net"),
                       ::testing::Values(1, 3, 17)));

// The float step leaves the activations' adjoint all zero (each pullback
// clears what its block wrote) and matches the float64 gradient.
TEST(Blocks, FloatStepClearsItsAdjointsAndMatchesDouble) {
  for (const auto& [name, twin] : twins()) expect_float_step_clears_adjoints(name, 1e-4, 0.2);
}

// A batch split over two threads (each part its own n): the same loss and
// gradient as one thread.
TEST(Blocks, ThreadPartsGiveTheSameLossAndGradient) {
  const int saved = at::get_num_threads();
  for (const auto& [name, twin] : twins()) {
    const auto d = def(name);
    const int n = 37;
    auto s = sample(*d, n, 9, 0.2);
    std::vector<float> x(s.x.begin(), s.x.end()), y(s.y.begin(), s.y.end());
    at::set_num_threads(1);
    DefinedModel one(d, 2);
    const float l1 = one.loss_and_grad(x.data(), y.data(), n);
    at::set_num_threads(2);
    DefinedModel two(d, 2);
    const float l2 = two.loss_and_grad(x.data(), y.data(), n);
    at::set_num_threads(saved);
    EXPECT_NEAR(l1, l2, 1e-5 * std::max(1.f, std::abs(l1))) << name;
    EXPECT_TRUE(torch::allclose(one.grads(), two.grads(), 1e-4, 1e-6)) << name;
  }
}

class BlockSteadyState : public ::testing::TestWithParam<std::tuple<std::string, int, int>> {};

TEST_P(BlockSteadyState, AllocatesNothing) {
  const auto [name, n, threads] = GetParam();
  const int saved = at::get_num_threads();
  at::set_num_threads(threads);
  const auto d = def(name);
  DefinedModel model(d, 1);
  auto s = sample(*d, n, 2, 0.2);
  std::vector<float> x(s.x.begin(), s.x.end()), y(s.y.begin(), s.y.end());
  const int64_t count = steady_state_allocations(model, x, y, n);
  at::set_num_threads(saved);
  EXPECT_EQ(count, 0) << name << " at batch " << n;
}

INSTANTIATE_TEST_SUITE_P(
    Blocks, BlockSteadyState,
    ::testing::Values(
        std::make_tuple("conv1d_options_net", 1, 1), std::make_tuple("conv1d_options_net", 70, 1),
        std::make_tuple("conv2d_net", 1, 1), std::make_tuple("conv2d_net", 70, 2),
        std::make_tuple("grouped_conv_net", 70, 2), std::make_tuple("grouped_conv1d_net", 1, 1),
        std::make_tuple("pool2d_net", 70, 1), std::make_tuple("pool1d_net", 70, 1),
        std::make_tuple("pool2d_ceil_net", 70, 2), std::make_tuple("pool1d_ceil_net", 1, 1),
        std::make_tuple("axes_net", 70, 2), std::make_tuple("axes3d_net", 1, 1),
        std::make_tuple("small_image_cnn", 1, 1), std::make_tuple("small_image_cnn", 65, 2),
        std::make_tuple("leaky_softmax_net", 70, 1), std::make_tuple("log_softmax_net", 1, 1),
        std::make_tuple("smooth_activations_net", 1, 1), std::make_tuple("smooth_activations_net", 70, 2),
        std::make_tuple("batch_norm2d_net", 70, 2), std::make_tuple("batch_norm1d_inference_net", 70, 1),
        std::make_tuple("broadcast_net", 1, 1), std::make_tuple("broadcast_net", 70, 2),
        std::make_tuple("feature_broadcast_net", 70, 1), std::make_tuple("unflatten_net", 70, 1),
        std::make_tuple("no_bias_mlp", 1, 1), std::make_tuple("no_bias_mlp", 70, 2),
        std::make_tuple("channel_softmax_net", 70, 1), std::make_tuple("tiled_pool1d_net", 70, 1),
        std::make_tuple("adaptive_pool1d_net", 1, 1), std::make_tuple("adaptive_pool2d_net", 70, 2)));

TEST(BlockErrors, GeometryMistakesNameTheLayerWhatWasExpectedAndWhatWasFound) {
  EXPECT_EQ(registration_error("conv2d_wrong_output"),
            "model 'conv2d_wrong_output' (Conv2dWrongOutput): in loss(), layer 'c': output activation "
            "has width 10, the layer gives 2 x 3 x 3");
  EXPECT_EQ(registration_error("pool_wrong_input"),
            "model 'pool_wrong_input' (PoolWrongInput): in loss(), layer 'mp': input has width 16, the "
            "layer expects 2 x 9");
  EXPECT_EQ(
      registration_error("broadcast_mismatch"),
      "model 'broadcast_mismatch' (BroadcastMismatch): Broadcast 'b': axis 1 has sizes 3 and 2, which do "
      "not broadcast (equal, or one of them 1)");
  EXPECT_EQ(registration_error("adaptive_wrong_output"),
            "model 'adaptive_wrong_output' (AdaptiveWrongOutput): in loss(), layer 'mp': output activation "
            "has width 6, the layer gives 2 x 4");
  EXPECT_EQ(registration_error("pool_ceil_wrong_output"),
            "model 'pool_ceil_wrong_output' (PoolCeilWrongOutput): in loss(), layer 'mp': output activation "
            "has width 4, the layer gives 2 x 3");
  EXPECT_EQ(
      registration_error("broadcast_wrong_size"),
      "model 'broadcast_wrong_size' (BroadcastWrongSize): in loss(), layer 'h1': mul: the "
      "operand has 5 values; expected 1 (a scalar), 3 (one per channel) or 18 (one per value of a sample)");
  EXPECT_EQ(registration_error("batch_norm_wrong_stats"),
            "model 'batch_norm_wrong_stats' (BatchNormWrongStats): BatchNorm 'bn': the running mean and "
            "variance need 3 values, found 2");
  EXPECT_EQ(registration_error("batch_norm_wrong_width"),
            "model 'batch_norm_wrong_width' (BatchNormWrongWidth): in loss(), layer 'bn': input and output "
            "have widths 5 and 5, the layer expects 6 (features)");
}

// BatchNorm's statistics are not parameters: the trainable form has gamma
// and beta only (ones and zeros at first), the inference form none; a Linear
// with nn::no_bias has its weight only.
TEST(Blocks, DeclaredParameters) {
  const auto d = def("batch_norm2d_net");
  std::vector<std::string> names;
  for (const auto& p : d->params) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"c.weight", "c.bias", "bn.weight", "bn.bias"}));
  const auto p = init_defined_params(*d, 1);
  EXPECT_TRUE(torch::equal(view(p, *d, "bn.weight"), torch::ones({3})));
  EXPECT_TRUE(torch::equal(view(p, *d, "bn.bias"), torch::zeros({3})));
  EXPECT_EQ(def("batch_norm1d_inference_net")->param_count, 4 * 6 + 6 + 6 * 3 + 3);
  // nn::no_bias declares the weight only.
  names.clear();
  for (const auto& p : def("no_bias_mlp")->params) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc2.weight"}));
}

}  // namespace
}  // namespace torchclad
