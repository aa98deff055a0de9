-- GET the staff analytics pages as bench/analytics_pages_seed.py's analyst on the store
-- bench/analytics_seed.py seeded (10M order lines), BENCH_PORTAL_PAGE picks:
--   analytics_overview  /<lang>/staff/<store>/analytics/?period=P           key figures + 8 tables
--   analytics_rates     /<lang>/staff/<store>/analytics/rates/<by>/?period=P  by product, variant,
--                       category, supplier
--   analytics_items     /<lang>/staff/<store>/analytics/items/?period=P&reason=<code>  drill-down
-- P is 30, 90 and 365 in turn, or only BENCH_ANALYTICS_PERIOD when set. Each thread walks the
-- combinations (period x language x dimension) in turn, starting at its own offset, so every
-- run asks for each of them about equally often; each request carries one of the seeder's
-- signed-in session cookies (analytics_sessions.txt). Every request is built once in init().
-- Expected answer: 200. BENCH_CHECK=1 counts (and prints the first) other answers.
-- BENCH_THINK_MS="lo-hi": each connection is an analyst who reads a page for lo..hi ms.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("wrk_common")

local threads = {}
local page
local list = {}
counter = 0

local LANGS = { "ar", "en" }
local ACCEPT_LANGUAGE = { ar = "ar-SA,ar;q=0.9,en;q=0.8", en = "en-US,en;q=0.9,ar;q=0.5" }
local DIMENSIONS = { "product", "variant", "category", "supplier" }
local EXPECTED = 200

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

local function periods()
  local fixed = os.getenv("BENCH_ANALYTICS_PERIOD")
  if fixed == nil or fixed == "" or fixed == "all" then return { "30", "90", "365" } end
  assert(fixed == "30" or fixed == "90" or fixed == "365",
    "BENCH_ANALYTICS_PERIOD must be 30, 90 or 365, not " .. fixed)
  return { fixed }
end

function init(args)
  page = common.env("BENCH_PORTAL_PAGE")
  local work = common.env("BENCH_WORK")
  local env = common.read_env(work .. "/analytics_env")
  local sessions = common.read_lines(work .. "/analytics_sessions.txt")
  local host = wrk.headers["Host"]
  local paths = {}
  for _, period in ipairs(periods()) do
    for _, lang in ipairs(LANGS) do
      local base = "/" .. lang .. "/staff/" .. env.store .. "/analytics/"
      if page == "analytics_overview" then
        paths[#paths + 1] = { lang, base .. "?period=" .. period }
      elseif page == "analytics_rates" then
        for _, by in ipairs(DIMENSIONS) do
          paths[#paths + 1] = { lang, base .. "rates/" .. by .. "/?period=" .. period }
        end
      elseif page == "analytics_items" then
        paths[#paths + 1] = { lang, base .. "items/?period=" .. period .. "&reason=" .. env.reason }
      else
        error("unknown BENCH_PORTAL_PAGE " .. page)
      end
    end
  end
  for i, p in ipairs(paths) do
    list[#list + 1] = wrk.format("GET", p[2], {
      Host = host,
      Accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      ["Accept-Language"] = ACCEPT_LANGUAGE[p[1]],
      Cookie = env.session_cookie .. "=" .. sessions[((i + id) % #sessions) + 1],
    })
  end
  assert(#list > 0, "no requests for " .. page)
  -- Threads start at different combinations: with few connections, not all on the same one.
  counter = id * 7
  math.randomseed(os.time() + id * 7919)
end

delay = common.think_delay()

function request()
  counter = counter + 1
  return list[counter % #list + 1]
end

if os.getenv("BENCH_CHECK") == "1" then
  non_2xx, shown = 0, 0
  function response(status, headers, body)
    if status ~= EXPECTED then
      non_2xx = non_2xx + 1
      if shown < 3 then
        shown = shown + 1
        io.stderr:write(page .. ": HTTP " .. status .. " " .. body:sub(1, 300) .. "\n")
      end
    end
  end
end

function done(summary, latency, requests)
  local unexpected = 0
  for _, t in ipairs(threads) do unexpected = unexpected + (t:get("non_2xx") or 0) end
  common.report(common.env("BENCH_PORTAL_PAGE"), summary, latency, {
    non_2xx_counted = os.getenv("BENCH_CHECK") == "1" and tostring(unexpected) or "null",
  })
end
