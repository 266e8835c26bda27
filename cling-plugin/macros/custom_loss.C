// A user's own differentiable function in a ROOT macro: a Huber loss,
// differentiated by Clad when ACLiC compiles this file (run_custom_loss.C
// sets ACLiC up with clang++-19 and the Clad plugin first).
#include "clad/Differentiator/Differentiator.h"

#include <cmath>
#include <cstdio>

// Mean Huber loss of n predictions; quadratic within delta, linear beyond.
double huber(const double* pred, const double* target, int n, double delta) {
  double total = 0;
  for (int i = 0; i < n; ++i) {
    double r = std::abs(pred[i] - target[i]);
    total += r <= delta ? 0.5 * r * r : delta * (r - 0.5 * delta);
  }
  return total / n;
}

// Prints Clad's gradient beside central finite differences; returns the
// largest difference.
double custom_loss() {
  const int n = 5;
  double pred[n] = {0.1, 2.0, -1.5, 0.7, 3.2}, target[n] = {0.0, 0.5, -1.0, 0.7, 0.1};
  double d_pred[n] = {0};
  auto grad = clad::gradient(huber, "pred");
  grad.execute(pred, target, n, 1.0, d_pred);
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    const double h = 1e-6, saved = pred[i];
    pred[i] = saved + h;
    const double up = huber(pred, target, n, 1.0);
    pred[i] = saved - h;
    const double down = huber(pred, target, n, 1.0);
    pred[i] = saved;
    const double fd = (up - down) / (2 * h);
    printf("d huber / d pred[%d] = % .6f (Clad)  % .6f (finite differences)\n", i, d_pred[i], fd);
    worst = std::fmax(worst, std::abs(fd - d_pred[i]));
  }
  printf("largest difference %.2e\n", worst);
  return worst;
}
