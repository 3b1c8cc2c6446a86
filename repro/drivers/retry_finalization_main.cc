#include "drivers.hpp"

int main(int argc, char** argv) {
  return luahammer::repro::driver_main(luahammer::repro::retry_finalization(), argc, argv);
}
