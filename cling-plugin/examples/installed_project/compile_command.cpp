#include <cstdio>

#include "torchclad/model.h"

int main() { std::puts(torchclad::model_compile_command("m.cpp", "m.so").c_str()); }
