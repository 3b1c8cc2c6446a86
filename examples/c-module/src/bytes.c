/* bytes: a small Lua C module, written as a module author would, with one planted bug
 * for luahammer to find (see ../README.md). Functions:
 *   bytes.reverse(s)         the bytes of s in reverse order
 *   bytes.count(s, c)        how many times the one-byte string c occurs in s
 *   bytes.xor(a, b)          a xor b, byte by byte, b repeated over a
 *   bytes.pad(s, width)      s padded with spaces on the right to width bytes
 *   bytes.new(n)             a buffer of n zero bytes, with :get(i), :set(i, v), :len()
 */
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

/* THE PLANTED BUG: a classic off-by-one. The buffer holds the bytes but not the
 * terminator written after them; without AddressSanitizer this usually goes unnoticed. */
static int bytes_reverse(lua_State* L) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  char* out = malloc(len > 0 ? len : 1);
  if (out == NULL) return luaL_error(L, "out of memory");
  for (size_t i = 0; i < len; i++) out[i] = s[len - 1 - i];
  out[len] = '\0'; /* one past the end when len > 0 */
  lua_pushlstring(L, out, len);
  free(out);
  return 1;
}

static int bytes_count(lua_State* L) {
  size_t len, clen;
  const char* s = luaL_checklstring(L, 1, &len);
  const char* c = luaL_checklstring(L, 2, &clen);
  luaL_argcheck(L, clen == 1, 2, "one byte expected");
  lua_Integer n = 0;
  for (size_t i = 0; i < len; i++) n += s[i] == c[0];
  lua_pushinteger(L, n);
  return 1;
}

static int bytes_xor(lua_State* L) {
  size_t alen, blen;
  const char* a = luaL_checklstring(L, 1, &alen);
  const char* b = luaL_checklstring(L, 2, &blen);
  luaL_argcheck(L, blen > 0, 2, "empty key");
  luaL_Buffer buf;
  char* out = luaL_buffinitsize(L, &buf, alen);
  for (size_t i = 0; i < alen; i++) out[i] = (char)(a[i] ^ b[i % blen]);
  luaL_pushresultsize(&buf, alen);
  return 1;
}

static int bytes_pad(lua_State* L) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  lua_Integer width = luaL_checkinteger(L, 2);
  luaL_argcheck(L, width >= 0 && width <= 1 << 20, 2, "width out of range");
  if ((size_t)width <= len) {
    lua_settop(L, 1);
    return 1;
  }
  luaL_Buffer b;
  char* out = luaL_buffinitsize(L, &b, (size_t)width);
  memcpy(out, s, len);
  memset(out + len, ' ', (size_t)width - len);
  luaL_pushresultsize(&b, (size_t)width);
  return 1;
}

typedef struct {
  size_t n;
  unsigned char data[1];
} Buffer;

static Buffer* check_buffer(lua_State* L) { return (Buffer*)luaL_checkudata(L, 1, "bytes.Buffer"); }

static int buffer_new(lua_State* L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= 1 << 20, 1, "size out of range");
  Buffer* buffer = (Buffer*)lua_newuserdatauv(L, sizeof(Buffer) + (size_t)n, 0);
  buffer->n = (size_t)n;
  memset(buffer->data, 0, (size_t)n + 1);
  luaL_setmetatable(L, "bytes.Buffer");
  return 1;
}

static int buffer_get(lua_State* L) {
  Buffer* buffer = check_buffer(L);
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 1 && (size_t)i <= buffer->n, 2, "index out of range");
  lua_pushinteger(L, buffer->data[i - 1]);
  return 1;
}

static int buffer_set(lua_State* L) {
  Buffer* buffer = check_buffer(L);
  lua_Integer i = luaL_checkinteger(L, 2);
  lua_Integer v = luaL_checkinteger(L, 3);
  luaL_argcheck(L, i >= 1 && (size_t)i <= buffer->n, 2, "index out of range");
  buffer->data[i - 1] = (unsigned char)v;
  return 0;
}

static int buffer_len(lua_State* L) {
  lua_pushinteger(L, (lua_Integer)check_buffer(L)->n);
  return 1;
}

static const luaL_Reg buffer_methods[] = {{"get", buffer_get}, {"set", buffer_set}, {"len", buffer_len}, {NULL, NULL}};

static const luaL_Reg functions[] = {{"reverse", bytes_reverse}, {"count", bytes_count}, {"xor", bytes_xor},
                                     {"pad", bytes_pad},         {"new", buffer_new},    {NULL, NULL}};

int luaopen_bytes(lua_State* L) {
  luaL_newmetatable(L, "bytes.Buffer");
  luaL_newlib(L, buffer_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, functions);
  return 1;
}
