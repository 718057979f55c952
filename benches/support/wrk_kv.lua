local base = os.getenv("KV_PATH")
local method = os.getenv("KV_METHOD")
local keys = tonumber(os.getenv("KV_KEYS"))
local body = nil
if method == "PUT" then body = string.rep("x", tonumber(os.getenv("KV_VALUE_BYTES"))) end
local n = 0
request = function()
  n = n + 1
  return wrk.format(method, base .. "k" .. ((n * 7919) % keys), nil, body)
end
