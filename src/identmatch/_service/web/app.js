// identmatch's page: search, review and the model, over the service's own API.
//
// Rules kept throughout: every value from the service is put on the page as text
// (textContent, or an SVG text node), never as markup; the key lives in sessionStorage;
// nothing a person types goes into a URL (searches and decisions are POST bodies; only
// entity ids and the purpose travel as query parameters, and the service's log drops the
// query string); nothing is fetched from anywhere but this service.
"use strict";

(function () {
  const KEY = "identmatch.key";
  const SVG = "http://www.w3.org/2000/svg";
  const state = { role: null, purpose: "", hits: [], model: null, queueLimit: 20 };

  // ------------------------------------------------------------------ building blocks
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function say(message, kind) {
    const status = document.getElementById("status");
    status.textContent = message || "";
    status.className = "status" + (kind ? " " + kind : "");
  }

  const fmt = (x, digits) => (x === null || x === undefined ? "" : Number(x).toFixed(digits));
  const signed = (x) => (x >= 0 ? "+" : "\u2212") + Math.abs(x).toFixed(1);
  const percent = (p) => (100 * p).toFixed(p >= 0.995 || p < 0.005 ? 1 : 0) + "%";

  function strength(bits) {
    const size = Math.abs(bits);
    const how = size >= 6 ? "very strong" : size >= 3 ? "strong" : size >= 1 ? "some" : "little";
    if (size < 1) return "little evidence either way";
    return how + " evidence " + (bits > 0 ? "for" : "against") + " one person";
  }

  // ---------------------------------------------------------------------------- calls
  class Refused extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function problem(status, body, response) {
    if (status === 401) return "The key was not accepted: sign in again.";
    if (status === 403) return "This key's role does not allow that.";
    if (status === 429) {
      const wait = response.headers.get("Retry-After");
      return "This key's lookup budget is spent" + (wait ? "; try again in " + wait + " s." : ".");
    }
    if (status === 422 && body && Array.isArray(body.detail)) {
      const fields = body.detail.map((d) => (d.loc || []).filter((p) => p !== "body").join(".") + ": " + d.msg);
      return "Please check: " + fields.join("; ");
    }
    if (body && typeof body.detail === "string") return body.detail;
    return "The service answered " + status + ".";
  }

  async function call(method, path, body) {
    const key = sessionStorage.getItem(KEY);
    const headers = { Authorization: "Bearer " + key };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
        redirect: "error",
        referrerPolicy: "no-referrer",
      });
    } catch (err) {
      throw new Refused(0, "The service could not be reached.");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      if (response.status === 401) signOut("The key was not accepted: sign in again.");
      throw new Refused(response.status, problem(response.status, data, response));
    }
    return data;
  }

  function query(params) {
    return "?" + new URLSearchParams(params).toString();
  }

  // -------------------------------------------------------------------------- screens
  const screens = ["key", "search", "entity", "review", "model"];

  function show(name) {
    say("");
    for (const s of screens) document.getElementById("screen-" + s).hidden = s !== name;
    for (const tab of document.querySelectorAll(".tab")) {
      const on = tab.dataset.screen === name || (name === "entity" && tab.dataset.screen === "search");
      if (on) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    const heading = document.querySelector("#screen-" + name + " h1");
    if (heading) heading.focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    state.role = null;
    state.hits = [];
    state.model = null;
    state.queueLimit = 20;
    for (const id of ["results", "entity", "queue", "model", "q-declared"]) clear(document.getElementById(id));
    document.getElementById("search-form").reset();
    document.getElementById("nav").hidden = true;
    document.getElementById("who").textContent = "";
    show("key");
    say(message || "Signed out; the key is forgotten.");
  }

  async function signIn() {
    const session = await call("GET", "/v1/session");
    state.role = session.role;
    document.getElementById("who").textContent = "Key " + session.key_id + " (" + session.role + ")";
    const nav = document.getElementById("nav");
    nav.hidden = false;
    const searcher = ["search", "review", "write"].includes(session.role);
    const reviewer = ["review", "write"].includes(session.role);
    for (const tab of nav.querySelectorAll(".tab")) {
      tab.hidden = tab.dataset.screen === "review" ? !reviewer : !searcher;
    }
    if (!searcher) {
      show("key");
      say("This key's role (" + session.role + ") cannot search; use a search, review or write key.", "bad");
      return;
    }
    await loadModel();
    show("search");
    say("");
  }

  // --------------------------------------------------------------------------- search
  function declaredInputs(model) {
    const box = clear(document.getElementById("q-declared"));
    for (const [group, names] of [["identifiers", model.identifiers], ["attributes", model.attributes]]) {
      for (const name of names) {
        const id = "q-" + group + "-" + name;
        box.append(
          el("div", {}, el("label", { for: id, text: name.replace(/_/g, " ") }),
            el("input", { id, "data-group": group, "data-name": name, maxlength: 200 })),
        );
      }
    }
  }

  function person() {
    const form = document.getElementById("search-form");
    const out = { identifiers: {}, attributes: {} };
    for (const name of ["forename", "middle_names", "surname", "dob", "sex", "postcode", "nhs_number"]) {
      const value = form.elements[name].value.trim();
      if (value) out[name] = value;
    }
    const aliases = form.elements.aliases.value.split("\n").map((a) => a.trim()).filter(Boolean);
    if (aliases.length) out.aliases = aliases;
    for (const input of document.querySelectorAll("#q-declared input")) {
      const value = input.value.trim();
      if (value) out[input.dataset.group][input.dataset.name] = value;
    }
    return out;
  }

  async function search(event) {
    event.preventDefault();
    const purpose = document.getElementById("q-purpose").value.trim();
    const who = person();
    const given = Object.keys(who).filter((k) => typeof who[k] === "string" || Array.isArray(who[k]));
    if (purpose.length < 3) {
      say("Give a purpose: a case reference or a reason (at least 3 characters).", "bad");
      document.getElementById("q-purpose").focus();
      return;
    }
    if (!given.length && !Object.keys(who.identifiers).length && !Object.keys(who.attributes).length) {
      say("Give at least one thing you know about the person.", "bad");
      document.getElementById("q-forename").focus();
      return;
    }
    say("Searching\u2026");
    try {
      const reply = await call("POST", "/v1/search", { purpose, person: who, top: 5 });
      state.purpose = purpose;
      const result = reply.results[0];
      state.hits = result.hits;
      renderHits(result);
      const n = state.hits.length;
      const weak = (result.weak || []).length;
      const also = weak ? " " + weak + " weak " + (weak === 1 ? "candidate" : "candidates") + " to look at." : "";
      say((n ? n + (n === 1 ? " person" : " people") + " found." : "Nobody known matches.") + also);
    } catch (err) {
      say(err.message, "bad");
    }
  }

  function verdictBadge(verdict) {
    const words = { match: "Same person (match)", possible: "Possibly the same person" };
    return el("span", { class: "badge " + verdict, text: words[verdict] || verdict });
  }

  function recordsTable(records, caption) {
    const bySource = [...records].sort((a, b) => String(a.source || "").localeCompare(String(b.source || "")));
    return el("table", { class: "records" },
      el("caption", { text: caption }),
      el("thead", {}, el("tr", {}, ["Source", "Record", "Name", "Date of birth", "As given", "Other names"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, bySource.map((r) => el("tr", {},
        el("td", { text: r.source || "(none)" }),
        el("td", { text: r.record_id }),
        el("td", { text: r.name || [r.forename, r.middle_names, r.surname].filter(Boolean).join(" ") }),
        el("td", { text: r.dob || "" }),
        el("td", { text: r.dob_given || "" }),
        el("td", { text: (r.aliases || []).join(", ") }),
      ))),
    );
  }

  // What one known person looks like in the results: name, numbers, sources, names, dates.
  function summary(found) {
    const names = [...new Set(found.records.flatMap((r) => [r.name, ...(r.aliases || [])]).filter(Boolean))];
    const dobs = [...new Set(found.records.map((r) => r.dob).filter(Boolean))];
    const sources = [...new Set(found.records.map((r) => r.source).filter(Boolean))];
    return {
      names,
      numbers: el("p", { class: "numbers", text: "Match probability " + percent(found.match_probability) + " (weight " + signed(found.match_weight) + " bits), entity " + found.entity_id }),
      facts: el("dl", {},
        el("dt", { text: "Known to" }), el("dd", { text: sources.join(", ") || "(no source given)" }),
        el("dt", { text: "Recorded under the names" }), el("dd", { text: names.join("; ") }),
        el("dt", { text: "Dates of birth recorded" }), el("dd", { text: dobs.join("; ") || "none" })),
    };
  }

  const SEARCH_START = "Starting point: one known person picked at random";

  function renderHits(result) {
    const hits = result.hits;
    const weak = result.weak || [];
    const unread = result.unread || [];
    const box = clear(document.getElementById("results"));
    box.append(el("h2", { text: hits.length ? "Who he or she may be" : "No one known matches" }));
    if (unread.length) {
      box.append(el("div", { class: "unread", role: "note", "aria-labelledby": "unread-h" },
        el("h3", { id: "unread-h", text: "Not read, so searched without" }),
        el("ul", {}, unread.map((u) => el("li", { text: u.message })))));
    }
    if (!hits.length) {
      box.append(el("p", { text: "Nobody in the index scores at \"possible\" or above. Try fewer or other details (a misspelt name, another date of birth)." }));
    }
    hits.forEach((hit, rank) => {
      const { names, numbers, facts } = summary(hit);
      const card = el("article", { class: "hit", "aria-labelledby": "hit-" + rank },
        el("h3", { id: "hit-" + rank },
          (rank + 1) + ". " + (names[0] || hit.entity_id) + " ", verdictBadge(hit.verdict)),
        numbers, facts,
        waterfall(hit.explanation, "Why: the evidence for result " + (rank + 1), SEARCH_START),
        recordsTable(hit.records, "Records of result " + (rank + 1) + ", by source"),
        el("button", { type: "button", on: { click: () => openEntity(hit.entity_id) } }, "Open this person's records and household"),
      );
      box.append(card);
    });
    if (!weak.length) return;
    // Weak candidates: apart from the results, never ranked with them, each labelled.
    const section = el("section", { class: "weak", "aria-labelledby": "weak-h" },
      el("h2", { id: "weak-h", text: "Weak candidates: not matches" }),
      el("p", { text: "Below \"possible\". Listed only to look at, for the reason given beside each." }));
    weak.forEach((candidate, n) => {
      const { names, numbers, facts } = summary(candidate);
      section.append(el("article", { class: "weak-candidate", "aria-labelledby": "weak-" + n },
        el("h3", { id: "weak-" + n }, (names[0] || candidate.entity_id) + " ",
          el("span", { class: "badge weak", text: candidate.label })),
        numbers, facts,
        waterfall(candidate.explanation, "Why: the evidence for weak candidate " + (n + 1), SEARCH_START),
        recordsTable(candidate.records, "The record that scored best for weak candidate " + (n + 1)),
        el("p", { class: "note", text: "A weak candidate is shown, not opened: search with more details to find this person as a match." }),
      ));
    });
    box.append(section);
  }

  // ------------------------------------------------------------------------ waterfall
  // Rows of [label above, bar below]: long labels are never cut. A row spans from..to on
  // a scale from low to high (bits), with the zero line drawn.
  function barChart(rows, low, high, label, value) {
    const rowH = 34;
    const width = 720;
    const valueW = 190;
    const chartW = width - valueW;
    const height = rows.length * rowH + 22;
    const x = (w) => ((w - low) / (high - low || 1)) * chartW;
    const chart = svg("svg", { class: "bars", viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": label });
    rows.forEach((r, i) => {
      const y = i * rowH;
      chart.append(svg("text", { x: 0, y: y + 12, class: "label" + (r.total ? " total" : "") }, r.label));
      const kind = r.total ? "total" : r.weight >= 0 ? "for" : "against";
      chart.append(svg("rect", { x: Math.min(x(r.from), x(r.to)), y: y + 16, width: Math.max(1, Math.abs(x(r.to) - x(r.from))), height: 12, class: kind }));
      chart.append(svg("text", { x: chartW + 8, y: y + 27, class: "value" + (r.total ? " total" : "") }, value(r)));
      chart.append(svg("line", { x1: x(0), x2: x(0), y1: y + 14, y2: y + 30, class: "axis" }));
    });
    chart.append(svg("text", { x: x(0), y: height - 4, "text-anchor": "middle", class: "tick" }, "0 bits"));
    return chart;
  }

  function waterfall(explanation, title, start) {
    // Fields that weigh nothing (missing on one side, no sign of relatives) are named in one
    // line under the chart instead of drawn as empty bars.
    const weighed = explanation.contributions.filter((c) => Math.abs(c.weight) >= 0.05);
    const silent = explanation.contributions.filter((c) => Math.abs(c.weight) < 0.05);
    const steps = [{ label: start || "Starting point: two records picked at random", weight: explanation.prior_weight }];
    for (const c of weighed) steps.push({ label: c.label, weight: c.weight });
    let total = 0;
    let low = 0;
    let high = 0;
    const spans = steps.map((s) => {
      const from = total;
      total += s.weight;
      low = Math.min(low, from, total);
      high = Math.max(high, from, total);
      return { ...s, from, to: total };
    });
    total = explanation.match_weight;
    spans.push({ label: "Total: the match weight", weight: total, from: 0, to: total, total: true });
    const chart = barChart(spans, Math.min(low, total), Math.max(high, total), title + ": total " + signed(explanation.match_weight) + " bits, probability " + percent(explanation.match_probability), (s) => signed(s.weight) + " bits");
    const words = el("ul", { class: "evidence" },
      weighed.map((c) => el("li", {},
        el("strong", { text: c.label }), ": " + strength(c.weight) + " (" + signed(c.weight) + " bits" +
        (Math.abs(c.term_frequency_adjustment || 0) >= 0.05 ? ", " + (c.term_frequency_adjustment > 0 ? "a rarer" : "a more common") + " value than most" : "") + ")")),
      silent.length ? el("li", { class: "silent" }, el("strong", { text: "Weighing nothing" }), ": " + silent.map((c) => c.label).join("; ")) : null);
    return el("figure", { class: "why" }, el("figcaption", { text: title }), chart, words);
  }

  // --------------------------------------------------------------------------- entity
  async function openEntity(entityId) {
    say("Reading the records\u2026");
    try {
      const entity = await call("GET", "/v1/entities/" + encodeURIComponent(entityId) + query({ purpose: state.purpose }));
      renderEntity(entity);
      show("entity");
      say("");
    } catch (err) {
      say(err.message, "bad");
    }
  }

  function renderEntity(entity) {
    const box = clear(document.getElementById("entity"));
    document.getElementById("entity-title").textContent = "Person " + entity.entity_id;
    const sources = [...new Set(entity.records.map((r) => r.source || "(none)"))];
    box.append(
      el("dl", {},
        el("dt", { text: "Known to" }), el("dd", { text: sources.join(", ") }),
        el("dt", { text: "Every name recorded" }), el("dd", { text: entity.names.join("; ") }),
        el("dt", { text: "Every date of birth recorded" }), el("dd", { text: entity.dates_of_birth.join("; ") || "none" })),
      recordsTable(entity.records, "Records, by source (" + entity.records.length + ")"),
      el("h2", { text: "Others known at the same address" }),
    );
    if (!entity.household.length) {
      box.append(el("p", { text: "Nobody else is known at this person's postcodes." }));
      return;
    }
    box.append(el("table", { class: "household" },
      el("caption", { text: "People with a record at one of these postcodes" }),
      el("thead", {}, el("tr", {}, ["Name", "Date of birth", "Known to", "Where", ""].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, entity.household.map((m) => el("tr", {},
        el("td", { text: m.name || "(no name)" }),
        el("td", { text: m.dob || "" }),
        el("td", { text: (m.sources || []).join(", ") }),
        el("td", { text: (m.basis === "address" ? "same address, " : "same postcode, ") + (m.postcode || "") }),
        el("td", {}, el("button", { type: "button", class: "quiet", on: { click: () => searchFor(m) } }, "Search for this person")),
      ))),
    ));
  }

  function searchFor(member) {
    const form = document.getElementById("search-form");
    form.reset();
    clear(document.getElementById("results"));
    const parts = (member.name || "").split(" ");
    form.elements.forename.value = parts[0] || "";
    form.elements.surname.value = parts.length > 1 ? parts[parts.length - 1] : "";
    form.elements.dob.value = member.dob || "";
    form.elements.postcode.value = member.postcode || "";
    form.elements.purpose.value = state.purpose;
    show("search");
    say("The form holds that person's details: press Search to look them up (a new, audited search).");
  }

  // --------------------------------------------------------------------------- review
  async function loadQueue(event) {
    if (event) event.preventDefault();
    const purpose = document.getElementById("r-purpose").value.trim();
    if (purpose.length < 3) {
      say("Give a purpose for reading the queue (at least 3 characters).", "bad");
      document.getElementById("r-purpose").focus();
      return;
    }
    say("Reading the queue\u2026");
    try {
      const queue = await call("GET", "/v1/review/queue" + query({ purpose, limit: state.queueLimit }));
      renderQueue(queue, purpose);
      const n = queue.pairs.length + queue.entities.length;
      say(n ? n + " items to review." : "Nothing to review.");
    } catch (err) {
      say(err.message, "bad");
    }
  }

  function sideBySide(records, ids) {
    const fields = [["Source", "source"], ["Record", "record_id"], ["Entity now", "entity_id"], ["First name", "forename"], ["Middle names", "middle_names"], ["Last name", "surname"], ["Other names", "aliases"], ["Date of birth", "dob"], ["As given", "dob_given"], ["Postcode", "postcode"]];
    const byId = Object.fromEntries(records.map((r) => [r.record_id, r]));
    const pair = ids.map((id) => byId[id] || { record_id: id });
    return el("table", { class: "pair" },
      el("caption", { text: "The two records, side by side" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Field" }), el("th", { scope: "col", text: "Record A" }), el("th", { scope: "col", text: "Record B" }))),
      el("tbody", {}, fields.map(([label, key]) => {
        const values = pair.map((r) => (Array.isArray(r[key]) ? r[key].join(", ") : r[key] || ""));
        return el("tr", { class: values[0] && values[0] === values[1] ? "same" : null },
          el("th", { scope: "row", text: label }), el("td", { text: values[0] }), el("td", { text: values[1] }));
      })),
    );
  }

  function decisionForm(ids, purpose, item, index) {
    const reasonId = "reason-" + index;
    const form = el("form", { class: "decide", method: "post", action: "#", autocomplete: "off" },
      el("label", { for: reasonId, text: "Reason (required; do not write names)" }),
      el("textarea", { id: reasonId, rows: 2, maxlength: 500 }),
      el("div", { class: "buttons", role: "group", "aria-label": "Decision" },
        ["same", "different", "unsure"].map((decision) => el("button", { type: "submit", value: decision, class: "decision " + decision, text: { same: "Same person", different: "Different people", unsure: "Not sure" }[decision] }))),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const decision = (event.submitter && event.submitter.value) || "unsure";
      const reason = document.getElementById(reasonId).value.trim();
      if (!reason) {
        say("Give a reason for the decision.", "bad");
        document.getElementById(reasonId).focus();
        return;
      }
      try {
        const outcome = await call("POST", "/v1/decisions", { record_ids: ids, decision, reason, purpose });
        const moved = outcome.split.length;
        const words = decision === "different"
          ? "Recorded: different people. " + (outcome.entity_ids[0] !== outcome.entity_ids[1] ? "They are now apart (entities " + outcome.entity_ids.join(" and ") + "); " + moved + " record(s) moved." : "")
          : decision === "same" ? "Recorded: the same person (entity " + outcome.entity_ids[0] + ")." : "Recorded: not sure.";
        clear(item).append(el("p", { class: "done", text: words }));
        say(words, "good");
      } catch (err) {
        say(err.message, "bad");
      }
    });
    return form;
  }

  function renderQueue(queue, purpose) {
    const box = clear(document.getElementById("queue"));
    let index = 0;
    box.append(el("h2", { text: "Pairs near the threshold (" + queue.pairs.length + ")" }));
    for (const pair of queue.pairs) {
      const item = el("article", { class: "item", "aria-labelledby": "item-" + index },
        el("h3", { id: "item-" + index, text: "Are these one person? Match probability " + percent(pair.match_probability) }));
      item.append(sideBySide(pair.records, pair.record_ids), waterfall(pair.explanation, "The evidence for this pair"), decisionForm(pair.record_ids, purpose, item, index));
      box.append(item);
      index += 1;
    }
    box.append(el("h2", { text: "Groups that look wrong (" + queue.entities.length + ")" }));
    for (const entity of queue.entities) {
      const item = el("article", { class: "item", "aria-labelledby": "item-" + index },
        el("h3", { id: "item-" + index, text: entity.kinds.map((k) => k.replace(/_/g, " ")).join(", ") + ": entity " + entity.entity_id }),
        el("p", { text: entity.why }));
      item.append(sideBySide(entity.records, entity.record_ids), waterfall(entity.explanation, "The evidence for the pair to decide"), decisionForm(entity.record_ids, purpose, item, index));
      if (entity.records.length > 2) item.append(recordsTable(entity.records, "All " + entity.records.length + " records of the group"));
      box.append(item);
      index += 1;
    }
    const full = queue.pairs.length >= state.queueLimit || queue.entities.length >= state.queueLimit;
    if (full && state.queueLimit < 200) {
      box.append(el("button", { type: "button", class: "quiet", on: { click: () => {
        state.queueLimit = Math.min(200, state.queueLimit + 20);
        loadQueue();
      } } }, "Show more of the queue"));
    }
  }

  // ---------------------------------------------------------------------------- model
  async function loadModel() {
    state.model = await call("GET", "/v1/model");
    declaredInputs(state.model);
    renderModel(state.model);
  }

  function renderModel(model) {
    const box = clear(document.getElementById("model"));
    box.append(el("p", { text: "Each comparison's levels, most alike first. A level's weight is log2(m / u) bits: m is how often true matches look like that, u how often two different people do. The starting point is " + signed(model.prior_weight) + " bits; a pair is called a match at probability " + percent(model.threshold) + " or above." }));
    const small = (p) => (p >= 0.001 ? p.toFixed(3) : p.toExponential(1));
    for (const comparison of model.comparisons) {
      const levels = comparison.levels.filter((l) => l.weight !== null);
      const rows = levels.map((l) => ({ label: l.label, weight: l.weight, from: 0, to: l.weight, m: l.m, u: l.u }));
      const low = Math.min(0, ...rows.map((r) => r.weight));
      const high = Math.max(0, ...rows.map((r) => r.weight));
      const chart = barChart(rows, low, high, "Weights of the " + comparison.name + " levels", (r) => signed(r.weight) + " bits (m " + small(r.m) + ", u " + small(r.u) + ")");
      box.append(el("figure", { class: "comparison" }, el("figcaption", { text: comparison.name.replace(/_/g, " ") }), chart));
    }
    box.append(el("h2", { text: "Match weights of the pairs the build scored" }));
    const bins = model.histogram;
    if (!bins.length) {
      box.append(el("p", { text: "This index holds no distribution of match weights (built before it was kept)." }));
      return;
    }
    const most = Math.max(...bins.map((b) => b.count));
    const barW = Math.max(4, Math.floor(640 / bins.length));
    const height = 180;
    const chart = svg("svg", { class: "histogram", viewBox: "0 0 " + (bins.length * barW + 20) + " " + (height + 30), role: "img", "aria-label": "Histogram of match weights from " + fmt(bins[0].lower, 0) + " to " + fmt(bins[bins.length - 1].upper, 0) + " bits" });
    bins.forEach((b, i) => {
      const h = Math.max(1, (Math.sqrt(b.count) / Math.sqrt(most)) * height);
      chart.append(svg("rect", { x: 10 + i * barW, y: height - h, width: barW - 1, height: h, class: b.lower >= model.threshold_weight ? "for" : "against" }, ""));
      const tip = svg("title", {}, fmt(b.lower, 0) + " to " + fmt(b.upper, 0) + " bits: " + b.count + " pairs");
      chart.lastChild.append(tip);
      if (i % 5 === 0) chart.append(svg("text", { x: 10 + i * barW, y: height + 16, class: "tick" }, fmt(b.lower, 0)));
    });
    box.append(el("figure", {}, el("figcaption", { text: "Pairs by match weight in bits (bar height: square root of the count); at or above the threshold's weight (" + signed(model.threshold_weight) + ") in the match colour" }), chart));
  }

  // ----------------------------------------------------------------------------- start
  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("key-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = document.getElementById("key");
      const key = input.value.trim();
      input.value = "";
      if (!key) {
        say("Type or paste an API key.", "bad");
        return;
      }
      sessionStorage.setItem(KEY, key);
      try {
        await signIn();
      } catch (err) {
        if (err.status !== 401) say(err.message, "bad");
      }
    });
    document.getElementById("search-form").addEventListener("submit", search);
    document.getElementById("search-form").addEventListener("reset", () => {
      clear(document.getElementById("results"));
      state.hits = [];
    });
    document.getElementById("review-form").addEventListener("submit", loadQueue);
    document.getElementById("entity-back").addEventListener("click", () => show("search"));
    document.getElementById("sign-out").addEventListener("click", () => signOut());
    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", () => show(tab.dataset.screen));
    }
    if (sessionStorage.getItem(KEY)) {
      signIn().catch((err) => say(err.message, "bad"));
    } else {
      show("key");
    }
  });
})();
