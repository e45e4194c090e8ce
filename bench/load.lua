-- load.lua — wrk script for bench/load.sh: a mix of the API's routes, the
-- way a busy deployment sees them, with every answer counted by status.
--
--   /predict (one row, and a batch of 32)   most of the traffic
--   GET /model, /model/{name}, one version  the registry
--   POST /train ?wait=false (a tiny job)    a trickle of training
--   GET /dataset, POST /dataset, DELETE     a pool of 8 names churned: 409
--                                           (exists) and 404 (gone) are
--                                           expected answers, not errors
-- Expected 4xx: 404 and 409 on the dataset pool, 429 when the training
-- queue is full. Anything else outside 2xx counts as an error.

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

local json = { ["Content-Type"] = "application/json" }
local predict_one = '{"model":"load","inputs":[[0.1,0.2,0.3,0.4]]}'
local batch = {}
for i = 1, 32 do batch[i] = string.format("[%d,%d.5,-%d,0.%d]", i, i, i, i) end
local predict_batch = '{"model":"load","inputs":[' .. table.concat(batch, ",") .. ']}'
local train = '{"model":"load-train","layers":[2,4,1],"epochs":20,"seed":1,' ..
              '"inputs":[[-2,-1],[25,6],[17,4],[-15,-6]],"targets":[[1],[0],[0],[1]]}'

-- Cumulative weights (out of 1000).
local mix = {
   {600, function() return wrk.format("POST", "/predict", json, predict_one) end},
   {700, function() return wrk.format("POST", "/predict", json, predict_batch) end},
   {780, function() return wrk.format("GET", "/model/load") end},
   {820, function() return wrk.format("GET", "/model") end},
   {880, function() return wrk.format("GET", "/model/load/versions/1") end},
   {890, function() return wrk.format("POST", "/train", json, train) end},
   {940, function() return wrk.format("GET", "/dataset") end},
   {970, function()
      local name = "pool" .. math.random(0, 7)
      local body = '{"name":"' .. name .. '","inputs":[[1,2],[3,4],[5,6]],"targets":[[0],[1],[0]]}'
      return wrk.format("POST", "/dataset", json, body)
   end},
   {1000, function() return wrk.format("DELETE", "/dataset/pool" .. math.random(0, 7)) end},
}

function init(args)
   math.randomseed(tonumber(tid) * 7919 + os.time())
   counts = {}
end

function request()
   local r = math.random(1, 1000)
   for _, m in ipairs(mix) do
      if r <= m[1] then return m[2]() end
   end
end

function response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
   local all = {}
   for _, t in ipairs(threads) do
      for status, n in pairs(t:get("counts")) do all[status] = (all[status] or 0) + n end
   end
   local codes = {}
   for status in pairs(all) do table.insert(codes, status) end
   table.sort(codes)
   local errors, fivexx = 0, 0
   local line = {}
   for _, status in ipairs(codes) do
      local n = all[status]
      table.insert(line, status .. ":" .. n)
      local expected = (status >= 200 and status < 300) or status == 404 or status == 409 or status == 429
      if not expected then errors = errors + n end
      if status >= 500 then fivexx = fivexx + n end
   end
   local e = summary.errors
   local sock = e.connect + e.read + e.write + e.timeout
   io.write(string.format("LOAD requests=%d seconds=%.1f rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
   io.write(string.format("LOAD statuses %s\n", table.concat(line, " ")))
   io.write(string.format("LOAD errors=%d 5xx=%d socket_errors=%d (connect %d, read %d, write %d, timeout %d)\n",
      errors, fivexx, sock, e.connect, e.read, e.write, e.timeout))
end
