#include "drivers.hpp"

int main(int argc, char** argv) {
  return luahammer::repro::driver_main(luahammer::repro::stored_function_lifetime(), argc, argv);
}
