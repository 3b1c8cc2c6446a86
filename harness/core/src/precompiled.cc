#include <luahammer/core/precompiled.hpp>

#include <luahammer/lua.hpp>

namespace luahammer {

namespace {

int append_to_string(lua_State*, const void* bytes, std::size_t size, void* out) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(bytes), size);
  return 0;
}

}  // namespace

std::optional<std::string> precompile(std::string_view source, const char* chunkname) {
  lua_State* L = luaL_newstate();
  if (L == nullptr) return std::nullopt;
  std::optional<std::string> chunk;
  if (luaL_loadbufferx(L, source.data(), source.size(), chunkname, "t") == LUA_OK) {
    std::string bytes;
    if (lua_dump(L, &append_to_string, &bytes, 0) == 0) chunk = std::move(bytes);
  }
  lua_close(L);
  return chunk;
}

}  // namespace luahammer
