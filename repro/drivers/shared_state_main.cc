#include "drivers.hpp"

int main(int argc, char** argv) { return luahammer::repro::driver_main(luahammer::repro::shared_state(), argc, argv); }
