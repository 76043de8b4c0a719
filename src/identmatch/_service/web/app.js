// identmatch's page: search, review and the model, over the service's own API.
//
// Rules kept throughout: every value from the service is put on the page as text
// (textContent; charts are images the service drew), never as markup, with invisible
// characters shown escaped (plain); the key lives in sessionStorage; nothing a person
// types goes into a URL (searches and decisions are POST bodies; only entity ids,
// comparison names and the purpose travel as query parameters, and the service's log
// drops the query string); nothing is fetched from anywhere but this service.
"use strict";

(function () {
  const KEY = "identmatch.key";
  const state = { role: null, keyName: "", sources: {}, purpose: "", search: null, hits: [], model: null, queueLimit: 20 };

  // ------------------------------------------------------------------ building blocks
  // Characters Python's str.isprintable() refuses (controls, format characters such as the
  // bidi controls and zero-width spaces, separators other than the space, surrogates,
  // private use, unassigned), shown escaped as the command line shows them: "\u202eevil",
  // never "live" drawn right to left.
  const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/gu;
  const ESCAPES = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

  function plain(value) {
    return String(value).replace(UNPRINTABLE, (c) => {
      if (c === " ") return c;
      if (ESCAPES[c]) return ESCAPES[c];
      const code = c.codePointAt(0);
      const hex = code.toString(16);
      if (code < 0x100) return "\\x" + hex.padStart(2, "0");
      if (code < 0x10000) return "\\u" + hex.padStart(4, "0");
      return "\\U" + hex.padStart(8, "0");
    });
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = plain(value);
      else if (name === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(plain(child)));
    }
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

  // A record source in plain words: the service's label, else its code in words
  // ("childrens_services": "Childrens services").
  function sourceLabel(code) {
    if (code === null || code === undefined || code === "") return "(no source given)";
    if (Object.hasOwn(state.sources, code)) return String(state.sources[code]);
    const words = String(code).replace(/[_-]+/g, " ").trim();
    return words ? words.charAt(0).toUpperCase() + words.slice(1) : String(code);
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
    state.keyName = "";
    state.sources = {};
    state.search = null;
    state.hits = [];
    state.model = null;
    state.queueLimit = 20;
    Object.assign(review, { items: [], at: 0, purpose: "", last: null, full: false });
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
    state.keyName = session.name;
    state.sources = session.sources || {};
    document.getElementById("who").textContent = plain("Key " + session.key_id + " (" + session.role + ")");
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
      state.search = { who, purpose, when: new Date(), auditId: reply.audit_ids[0] };
      const result = reply.results[0];
      state.search.unread = result.unread || [];
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

  // A table whose cells carry their column's name (data-label): on a narrow screen each
  // row is shown as a block of "column: value" lines instead of scrolling sideways.
  function table(kind, caption, headers, rows) {
    return el("table", { class: "stack " + kind },
      el("caption", { text: caption }),
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((cells) => el("tr", {},
        cells.map((cell, i) => el("td", { "data-label": headers[i] || null, text: cell instanceof Node ? null : cell }, cell instanceof Node ? cell : null))))),
    );
  }

  // The date a source made or last updated a record, in words ("recorded 3 Mar 2024"); read
  // from its ISO form without the browser's clock or time zone.
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function recordedWords(iso) {
    const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return parts ? "recorded " + Number(parts[3]) + " " + MONTHS[Number(parts[2]) - 1] + " " + parts[1] : "date recorded not given";
  }

  // The records of a person, by source. With where=true (the person screen) also the date
  // each was recorded, beside its source, and the postcode, address and town it gives, as
  // the index holds them.
  function recordsTable(records, caption, where) {
    const bySource = [...records].sort((a, b) => sourceLabel(a.source).localeCompare(sourceLabel(b.source)));
    const headers = ["Source", "Record", "Name", "Date of birth", "As given", "Other names"];
    if (where) headers.splice(1, 0, "Recorded");
    if (where) headers.push("Postcode", "Address", "Town");
    return table("records", caption, headers, bySource.map((r) => [
      sourceLabel(r.source),
      ...(where ? [recordedWords(r.recorded)] : []),
      r.record_id,
      r.name || [r.forename, r.middle_names, r.surname].filter(Boolean).join(" "),
      r.dob || "",
      r.dob_given || "",
      (r.aliases || []).join(", "),
      ...(where ? [r.postcode || "", r.address || "", r.town || ""] : []),
    ]));
  }

  // What one known person looks like in the results: name, numbers, sources, names, dates.
  function summary(found) {
    const names = [...new Set(found.records.flatMap((r) => [r.name, ...(r.aliases || [])]).filter(Boolean))];
    const dobs = [...new Set(found.records.map((r) => r.dob).filter(Boolean))];
    const sources = [...new Set(found.records.map((r) => r.source).filter(Boolean).map(sourceLabel))];
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

  // ------------------------------------------------------------------------- case file
  // What a print (or a PDF) of a result carries for the case file: what was searched, by
  // which key (its name, never the token), when, why, and the audit entry that holds it.
  const FIELD_WORDS = { forename: "First name", middle_names: "Middle names", surname: "Last name", aliases: "Other names", dob: "Date of birth", sex: "Sex", postcode: "Postcode", nhs_number: "NHS number" };

  // What was searched for, in words; a field the service could not read is named as such
  // (the search went on without it), never repeated.
  function searchedFor(who, unread) {
    const skipped = new Set((unread || []).map((u) => u.field));
    const given = (name, value) => (skipped.has(name) ? "not read, searched without it" : Array.isArray(value) ? value.join(", ") : value);
    const parts = [];
    for (const [name, value] of Object.entries(who)) {
      if (name === "identifiers" || name === "attributes") {
        for (const [k, v] of Object.entries(value)) parts.push(k.replace(/_/g, " ") + ": " + given(k, v));
      } else {
        parts.push((FIELD_WORDS[name] || name) + ": " + given(name, value));
      }
    }
    return parts.join("; ");
  }

  function stamp(date) {
    const local = date.toLocaleString("en-GB", { dateStyle: "long", timeStyle: "short" });
    return local + " (" + date.toISOString().slice(0, 16).replace("T", " ") + " UTC)";
  }

  function caseFile(id, title, rows) {
    return el("section", { class: "case-file", "aria-labelledby": id },
      el("h2", { id, text: title }),
      el("dl", {}, rows.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })])),
      el("button", { type: "button", class: "quiet", on: { click: () => window.print() } }, "Print or save as PDF for the case file"));
  }

  function searchRecord(result) {
    const search = state.search;
    const n = result.hits.length;
    const weak = (result.weak || []).length;
    return caseFile("cf-search", "Search for the case file", [
      ["Searched for", searchedFor(search.who, result.unread)],
      ["Searched by", "the key named \u201c" + state.keyName + "\u201d"],
      ["When", stamp(search.when)],
      ["Purpose", search.purpose],
      ["Result", (n ? n + (n === 1 ? " person" : " people") + " found" : "nobody known matches") + (weak ? "; " + weak + " weak " + (weak === 1 ? "candidate" : "candidates") + ", not matches" : "")],
      ["Audit entry", "number " + search.auditId],
    ]);
  }

  function renderHits(result) {
    const hits = result.hits;
    const weak = result.weak || [];
    const unread = result.unread || [];
    const box = clear(document.getElementById("results"));
    if (state.search) box.append(searchRecord(result));
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

  // --------------------------------------------------------------------------- charts
  // The library's own charts (the ones a report holds), drawn by the service as SVG and
  // shown here as an image from a blob: URL: no chart code runs on the page, and the image
  // is fetched with the key like any other call.
  function serverChart(method, path, body, alt) {
    const slot = el("div", { class: "chart" }, el("p", { class: "drawing", text: "Drawing the chart\u2026" }));
    (async () => {
      const key = sessionStorage.getItem(KEY);
      const headers = { Authorization: "Bearer " + key };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      try {
        const response = await fetch(path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          cache: "no-store",
          credentials: "omit",
          redirect: "error",
          referrerPolicy: "no-referrer",
        });
        if (!response.ok) throw new Refused(response.status, problem(response.status, null, response));
        const image = await response.blob();
        if (image.type !== "image/svg+xml") throw new Refused(0, "The service sent no chart.");
        const img = el("img", { class: "chart", alt });
        const url = URL.createObjectURL(image);
        img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
        img.src = url;
        clear(slot).append(img);
      } catch (err) {
        clear(slot).append(el("p", { class: "drawing", text: "The chart could not be drawn: " + (err.message || err) }));
      }
    })();
    return slot;
  }

  function waterfall(explanation, title, start) {
    // Fields that weigh nothing (missing on one side, no sign of relatives) are drawn as
    // empty rows and named again in the line under the chart.
    const weighed = explanation.contributions.filter((c) => Math.abs(c.weight) >= 0.05);
    const silent = explanation.contributions.filter((c) => Math.abs(c.weight) < 0.05);
    const body = {
      record_id_l: explanation.record_id_l,
      record_id_r: explanation.record_id_r,
      match_weight: explanation.match_weight,
      match_probability: explanation.match_probability,
      prior_weight: explanation.prior_weight,
      contributions: explanation.contributions.map((c) => ({
        comparison: c.comparison, level: c.level, label: c.label, weight: c.weight,
        term_frequency_adjustment: c.term_frequency_adjustment || 0,
      })),
      start: start || "Starting point: two records picked at random",
    };
    const alt = title + ": total " + signed(explanation.match_weight) + " bits, probability " + percent(explanation.match_probability) + "; " + [body.start + " " + signed(explanation.prior_weight)].concat(weighed.map((c) => c.label + " " + signed(c.weight))).join(", ");
    const picture = serverChart("POST", "/v1/charts/waterfall", body, alt);
    const words = el("ul", { class: "evidence" },
      weighed.map((c) => el("li", {},
        el("strong", { text: c.label }), ": " + strength(c.weight) + " (" + signed(c.weight) + " bits" +
        (Math.abs(c.term_frequency_adjustment || 0) >= 0.05 ? ", " + (c.term_frequency_adjustment > 0 ? "a rarer" : "a more common") + " value than most" : "") + ")")),
      silent.length ? el("li", { class: "silent" }, el("strong", { text: "Weighing nothing" }), ": " + silent.map((c) => c.label).join("; ")) : null);
    return el("figure", { class: "why" }, el("figcaption", { text: title }), picture, words);
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
    document.getElementById("entity-title").textContent = plain("Person " + entity.entity_id);
    const sources = [...new Set(entity.records.map((r) => sourceLabel(r.source)))];
    const postcodes = [...new Set(entity.records.map((r) => r.postcode).filter(Boolean))];
    const search = state.search;
    box.append(
      caseFile("cf-entity", "Person's records for the case file", [
        ["Read by", "the key named \u201c" + state.keyName + "\u201d"],
        ["When", stamp(new Date())],
        ["Purpose", state.purpose],
        ...(search ? [["Found by searching for", searchedFor(search.who, search.unread)]] : []),
        ["Audit entry", "number " + entity.audit_id],
      ]),
      el("h2", { text: "What the records say" }),
      el("dl", {},
        el("dt", { text: "Known to" }), el("dd", { text: sources.join(", ") }),
        el("dt", { text: "Every name recorded" }), el("dd", { text: entity.names.join("; ") }),
        el("dt", { text: "Every date of birth recorded" }), el("dd", { text: entity.dates_of_birth.join("; ") || "none" }),
        el("dt", { text: "Every postcode recorded" }), el("dd", { text: postcodes.join("; ") || "none" })),
      recordsTable(entity.records, "Records, by source (" + entity.records.length + ")", true),
      el("p", { class: "numbers", text: "Postcodes, addresses and towns are shown as the index compares them (standardised). \u201cRecorded\u201d is the date the source gave for when it made or last updated the record." }),
      el("h2", { text: "Others known at the same address" }),
    );
    if (!entity.household.length) {
      box.append(el("p", { text: "Nobody else is known at this person's postcodes." }));
      return;
    }
    box.append(table("household", "People with a record at one of these postcodes",
      ["Name", "Date of birth", "Known to", "Where", ""],
      entity.household.map((m) => [
        m.name || "(no name)",
        m.dob || "",
        (m.sources || []).map(sourceLabel).join(", "),
        (m.basis === "address" ? "same address, " : "same postcode, ") + (m.postcode || ""),
        el("button", { type: "button", class: "quiet", on: { click: () => searchFor(m) } }, "Search for this person"),
      ])));
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
  // The queue one item at a time: where it is ("Item 3 of 15"), back and next, and the last
  // decision undone. After a decision the next item to decide is shown and its first
  // control (the reason) has the focus.
  const review = { items: [], at: 0, purpose: "", last: null, full: false };

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
      review.items = [
        ...queue.pairs.map((data) => ({ kind: "pair", data })),
        ...queue.entities.map((data) => ({ kind: "entity", data })),
      ];
      review.at = 0;
      review.purpose = purpose;
      review.last = null;
      review.full = queue.pairs.length >= state.queueLimit || queue.entities.length >= state.queueLimit;
      renderItem(false);
      const n = review.items.length;
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
        const values = pair.map((r) => (key === "source" ? sourceLabel(r.source) : Array.isArray(r[key]) ? r[key].join(", ") : r[key] || ""));
        return el("tr", { class: values[0] && values[0] === values[1] ? "same" : null },
          el("th", { scope: "row", text: label }), el("td", { text: values[0] }), el("td", { text: values[1] }));
      })),
    );
  }

  // What a decision (or an undo) did, in words.
  function outcomeWords(decision, outcome) {
    const moved = outcome.split.length;
    if (decision === "different") {
      return "Recorded: different people. " + (outcome.entity_ids[0] !== outcome.entity_ids[1] ? "They are now apart (entities " + outcome.entity_ids.join(" and ") + "); " + moved + " record(s) moved." : "");
    }
    return decision === "same" ? "Recorded: the same person (entity " + outcome.entity_ids[0] + ")." : "Recorded: not sure.";
  }

  // Keep every shown record's "Entity now" true after a decision or an undo moved records.
  function moveRecords(outcome) {
    const where = new Map(outcome.record_ids.map((r, i) => [r, outcome.entity_ids[i]]));
    for (const m of outcome.split) where.set(m.record_id, m.entity_id);
    for (const item of review.items) {
      for (const r of item.data.records) if (where.has(r.record_id)) r.entity_id = where.get(r.record_id);
    }
  }

  function nextToDecide(from) {
    const n = review.items.length;
    for (let step = 1; step <= n; step += 1) {
      const i = (from + step) % n;
      if (!review.items[i].outcome) return i;
    }
    return null;
  }

  function decisionForm(item, index) {
    const ids = item.data.record_ids;
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
        const outcome = await call("POST", "/v1/decisions", { record_ids: ids, decision, reason, purpose: review.purpose });
        moveRecords(outcome);
        item.outcome = outcomeWords(decision, outcome);
        review.last = { decisionId: outcome.decision_id, recordIds: outcome.record_ids, index, words: item.outcome };
        const next = nextToDecide(index);
        review.at = next === null ? index : next;
        renderItem(true);
        const then = next === null ? " Every item in this queue is decided." : " Now item " + (next + 1) + " of " + review.items.length + ".";
        say(item.outcome + then, "good");
      } catch (err) {
        say(err.message, "bad");
      }
    });
    return form;
  }

  async function undoLast() {
    const last = review.last;
    try {
      const outcome = await call("POST", "/v1/decisions/" + encodeURIComponent(last.decisionId) + "/undo", { record_ids: last.recordIds, reason: "undone on the review page", purpose: review.purpose });
      moveRecords(outcome);
      delete review.items[last.index].outcome;
      review.last = null;
      review.at = last.index;
      renderItem(true);
      const moved = outcome.split.length;
      say("Undone: item " + (last.index + 1) + " is undecided again" + (moved ? "; " + moved + " record(s) moved back" : "") + ". Decide it again.", "good");
    } catch (err) {
      say(err.message, "bad");
    }
  }

  function itemView(item, index) {
    const data = item.data;
    const title = item.kind === "pair"
      ? "Are these one person? Match probability " + percent(data.match_probability)
      : data.kinds.map((k) => k.replace(/_/g, " ")).join(", ") + ": entity " + data.entity_id;
    const article = el("article", { class: "item", "aria-labelledby": "item-" + index }, el("h3", { id: "item-" + index, text: title }));
    if (item.kind === "entity") article.append(el("p", { text: data.why }));
    if (item.outcome) article.append(el("p", { class: "done", text: item.outcome }));
    article.append(sideBySide(data.records, data.record_ids));
    article.append(waterfall(data.explanation, item.kind === "pair" ? "The evidence for this pair" : "The evidence for the pair to decide"));
    if (!item.outcome) article.append(decisionForm(item, index));
    if (item.kind === "entity" && data.records.length > 2) article.append(recordsTable(data.records, "All " + data.records.length + " records of the group"));
    return article;
  }

  function go(index) {
    review.at = index;
    renderItem(false);
    document.getElementById("queue-position").focus();
  }

  function renderItem(focus) {
    const box = clear(document.getElementById("queue"));
    const total = review.items.length;
    if (!total) {
      box.append(el("p", { text: "Nothing to review." }));
      return;
    }
    const item = review.items[review.at];
    const open = review.items.filter((i) => !i.outcome).length;
    const kind = item.kind === "pair" ? "a pair near the threshold" : "a group that looks wrong";
    box.append(
      el("h2", { id: "queue-position", tabindex: -1, text: "Item " + (review.at + 1) + " of " + total + ": " + kind }),
      el("p", { class: "numbers", text: open ? open + " still to decide." : "Every item in this queue is decided." }),
      el("div", { class: "pager", role: "group", "aria-label": "Move through the queue" },
        el("button", { type: "button", class: "quiet", disabled: review.at === 0, on: { click: () => go(review.at - 1) } }, "Previous item"),
        el("button", { type: "button", class: "quiet", disabled: review.at === total - 1, on: { click: () => go(review.at + 1) } }, "Next item"),
        review.full && review.at === total - 1 ? el("button", { type: "button", class: "quiet", on: { click: () => {
          state.queueLimit = Math.min(200, state.queueLimit + 20);
          loadQueue();
        } } }, "Read more of the queue") : null),
    );
    if (review.last) {
      box.append(el("div", { class: "last-decision" },
        el("p", { text: "Last decision, item " + (review.last.index + 1) + ": " + review.last.words }),
        el("button", { type: "button", class: "quiet", on: { click: undoLast } }, "Undo the last decision")));
    }
    const article = itemView(item, review.at);
    box.append(article);
    if (focus) (article.querySelector("textarea") || document.getElementById("queue-position")).focus();
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
      // The library's parameters chart of this comparison (drawn by the service), its levels
      // in words as the image's text alternative.
      const levels = comparison.levels.filter((l) => l.weight !== null);
      const alt = "Weights of the " + comparison.name + " levels: " + levels.map((l) => l.label + " " + signed(l.weight) + " bits (m " + small(l.m) + ", u " + small(l.u) + ")").join("; ");
      const picture = serverChart("GET", "/v1/charts/parameters" + query({ comparison: comparison.name }), undefined, alt);
      box.append(el("figure", { class: "comparison" }, el("figcaption", { text: comparison.name.replace(/_/g, " ") }), picture));
    }
    box.append(el("h2", { text: "Match weights of the pairs the build scored" }));
    const bins = model.histogram;
    if (!bins.length) {
      box.append(el("p", { text: "This index holds no distribution of match weights (built before it was kept)." }));
      return;
    }
    const pairs = bins.reduce((n, b) => n + b.count, 0);
    const alt = "Histogram of the " + pairs + " scored pairs by match weight, from " + fmt(bins[0].lower, 0) + " to " + fmt(bins[bins.length - 1].upper, 0) + " bits; the threshold at " + signed(model.threshold_weight) + " bits";
    box.append(el("figure", { class: "histogram" }, el("figcaption", { text: "Pairs by match weight in bits (bar height on a symmetric log scale); at or above the threshold's weight (" + signed(model.threshold_weight) + ", the dashed line) in the match colour" }), serverChart("GET", "/v1/charts/match-weights", undefined, alt)));
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
