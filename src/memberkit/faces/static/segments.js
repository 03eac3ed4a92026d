// The segment builder: a rule tree of conditions and nested AND/OR groups, edited in place.
// Each change posts the definition to /admin/segments/count (the same count service as the
// API) and shows the count, the first 20 members, or the service's refusal naming where.
// Money is typed in yuan and sent in minor units (fen), read from the text, never a float.
(function () {
  "use strict";
  var root = document.getElementById("builder");
  if (!root) return;
  var form = document.getElementById("segment-form");
  var hidden = document.getElementById("definition");
  var kind = document.getElementById("kind");
  var fields = JSON.parse(root.dataset.fields);
  var byName = {};
  fields.forEach(function (f) { byName[f.name] = f; });
  var LISTS = ["in", "not_in", "any_of", "all_of", "none_of"];
  var MAX_DEPTH = 4;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function toMinor(text) {
    var m = /^\s*(-?)(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text);
    if (!m) return text;
    var fen = ((m[3] || "") + "00").slice(0, 2);
    var n = parseInt(m[2] + fen, 10);
    return m[1] ? -n : n;
  }

  function fromMinor(value) {
    if (typeof value !== "number") return String(value);
    var sign = value < 0 ? "-" : "";
    var digits = String(Math.abs(value));
    while (digits.length < 3) digits = "0" + digits;
    return sign + digits.slice(0, -2) + "." + digits.slice(-2);
  }

  function one(text, field) {
    if (field.type === "money") return toMinor(text);
    if (field.type === "number") return /^\s*-?\d+\s*$/.test(text) ? parseInt(text, 10) : text;
    return text.trim();
  }

  function shown(value, field) {
    return field.type === "money" ? fromMinor(value) : String(value);
  }

  function conditionNode(cond) {
    var field = byName[cond.field] || fields[0];
    var box = el("div", { "class": "rule-condition d-flex flex-wrap gap-2 align-items-center mb-2" });
    var fieldSel = el("select", { "class": "form-select w-auto rule-field", "aria-label": "field" });
    fields.forEach(function (f) {
      var o = el("option", { value: f.name, text: f.label });
      if (f.name === field.name) o.selected = true;
      fieldSel.appendChild(o);
    });
    var opSel = el("select", { "class": "form-select w-auto rule-op", "aria-label": "op" });
    var valueBox = el("span", { "class": "d-flex gap-2 rule-values" });
    var days = el("input", {
      "class": "form-control rule-days", type: "number", min: "1", max: "3650", placeholder: root.dataset.days, title: root.dataset.days
    });
    var remove = el("button", { type: "button", "class": "btn btn-sm btn-link text-danger rule-remove", text: root.dataset.remove });

    function fillOps(selected) {
      var f = byName[fieldSel.value];
      opSel.innerHTML = "";
      f.ops.forEach(function (o) {
        var opt = el("option", { value: o.op, text: o.label });
        if (o.op === selected) opt.selected = true;
        opSel.appendChild(opt);
      });
      days.hidden = !f.window;
    }

    function fillValues(value) {
      var f = byName[fieldSel.value];
      valueBox.innerHTML = "";
      var op = opSel.value;
      var count = op === "between" ? 2 : 1;
      for (var i = 0; i < count; i++) {
        var v = "";
        if (op === "between" && Array.isArray(value)) v = value[i] === undefined ? "" : shown(value[i], f);
        else if (LISTS.indexOf(op) >= 0 && Array.isArray(value)) v = value.map(function (x) { return shown(x, f); }).join(", ");
        else if (value !== undefined && value !== null && !Array.isArray(value)) v = shown(value, f);
        var input;
        if (f.type === "choice" && LISTS.indexOf(op) < 0) {
          input = el("select", { "class": "form-select w-auto rule-value" });
          f.choices.forEach(function (c) {
            var o = el("option", { value: c, text: c });
            if (c === v) o.selected = true;
            input.appendChild(o);
          });
        } else {
          input = el("input", { "class": "form-control rule-value" });
          if (f.type === "date") input.type = "date";
          input.value = v;
          if (LISTS.indexOf(op) >= 0) input.placeholder = root.dataset.listHint + (f.choices.length ? ": " + f.choices.join(", ") : "");
          else if (f.type === "money") input.placeholder = root.dataset.moneyHint;
        }
        valueBox.appendChild(input);
      }
    }

    fillOps(cond.op);
    fillValues(cond.value);
    if (cond.days) days.value = cond.days;
    fieldSel.addEventListener("change", function () { fillOps(null); fillValues(undefined); changed(); });
    opSel.addEventListener("change", function () { fillValues(undefined); changed(); });
    remove.addEventListener("click", function () { removeItem(box); });
    [fieldSel, opSel, valueBox, days].forEach(function (n) { box.appendChild(n); });
    box.appendChild(remove);
    box.read = function () {
      var f = byName[fieldSel.value];
      var op = opSel.value;
      var inputs = valueBox.querySelectorAll(".rule-value");
      var value;
      if (op === "between") value = [one(inputs[0].value, f), one(inputs[1].value, f)];
      else if (LISTS.indexOf(op) >= 0) {
        value = inputs[0].value.split(/[,，]/).map(function (s) { return s.trim(); })
          .filter(function (s) { return s; }).map(function (s) { return one(s, f); });
      } else value = one(inputs[0].value, f);
      var out = { field: f.name, op: op, value: value };
      if (f.window) out.days = /^\s*\d+\s*$/.test(days.value) ? parseInt(days.value, 10) : days.value || null;
      return out;
    };
    return box;
  }

  function groupNode(group, depth) {
    var all = !("any" in group);
    var items = group.all || group.any || [];
    var box = el("div", { "class": "rule-group border rounded p-2 mb-2" });
    var head = el("div", { "class": "d-flex gap-2 align-items-center mb-2" });
    var joiner = el("select", { "class": "form-select w-auto rule-join", "aria-label": "AND/OR" });
    joiner.appendChild(el("option", { value: "all", text: root.dataset.all }));
    joiner.appendChild(el("option", { value: "any", text: root.dataset.any }));
    joiner.value = all ? "all" : "any";
    joiner.addEventListener("change", changed);
    head.appendChild(joiner);
    if (depth > 1) {
      var remove = el("button", { type: "button", "class": "btn btn-sm btn-link text-danger rule-remove", text: root.dataset.remove });
      remove.addEventListener("click", function () { removeItem(box); });
      head.appendChild(remove);
    }
    var list = el("div", { "class": "rule-items ms-2" });
    items.forEach(function (item) {
      list.appendChild(("all" in item || "any" in item) ? groupNode(item, depth + 1) : conditionNode(item));
    });
    var foot = el("div", { "class": "d-flex gap-2" });
    var addCond = el("button", { type: "button", "class": "btn btn-sm btn-outline-primary add-condition", text: root.dataset.addCondition });
    addCond.addEventListener("click", function () {
      list.appendChild(conditionNode({ field: fields[0].name }));
      changed();
    });
    foot.appendChild(addCond);
    if (depth < MAX_DEPTH) {
      var addGroup = el("button", { type: "button", "class": "btn btn-sm btn-outline-secondary add-group", text: root.dataset.addGroup });
      addGroup.addEventListener("click", function () {
        list.appendChild(groupNode({ all: [{ field: fields[0].name }] }, depth + 1));
        changed();
      });
      foot.appendChild(addGroup);
    }
    [head, list, foot].forEach(function (n) { box.appendChild(n); });
    box.read = function () {
      var out = {};
      out[joiner.value] = Array.prototype.map.call(list.children, function (c) { return c.read(); });
      return out;
    };
    return box;
  }

  function removeItem(node) {
    node.parentNode.removeChild(node);
    changed();
  }

  var start = { all: [] };
  if (hidden.value) {
    try { start = JSON.parse(hidden.value); } catch (e) { start = { all: [] }; }
  }
  var top = groupNode(start, 1);
  root.appendChild(top);

  var count = document.getElementById("live-count");
  var problem = document.getElementById("count-error");
  var preview = document.querySelector("#preview tbody");
  var timer = null;
  var asked = 0;

  function show(answer) {
    preview.innerHTML = "";
    if (answer.error) {
      count.textContent = "–";
      problem.textContent = answer.error;
      problem.hidden = false;
      return;
    }
    problem.hidden = true;
    count.textContent = answer.count.toLocaleString("en");
    answer.preview.forEach(function (m) {
      preview.appendChild(el("tr", {}, [m.member_no, m.name || "", m.phone, m.tier, m.store || ""].map(function (t) {
        return el("td", { text: t });
      })));
    });
  }

  function ask() {
    if (kind && kind.value !== "rule") return;
    var definition = JSON.stringify(top.read());
    hidden.value = definition;
    var body = new FormData();
    body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    body.append("definition", definition);
    var mine = ++asked;
    fetch("/admin/segments/count", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (answer) { if (mine === asked) show(answer); })
      .catch(function () {});
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  }

  root.addEventListener("input", changed);
  form.addEventListener("submit", function () { hidden.value = JSON.stringify(top.read()); });
  if (kind) {
    kind.addEventListener("change", function () {
      document.getElementById("rule-part").hidden = kind.value !== "rule";
      changed();
    });
  }
  ask();
})();
