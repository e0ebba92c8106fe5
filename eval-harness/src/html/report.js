"use strict";
// Builds the table of pairs and the transcripts from the page's data. Every string from the run
// goes into the page as text (textContent), never as markup.
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const LIMIT = 1000;
  const tbody = document.querySelector("#pair-table tbody");
  const filter = document.getElementById("filter");
  const status = document.getElementById("status");
  const shown = document.getElementById("shown");
  const more = document.getElementById("more");
  const headers = Array.from(document.querySelectorAll("#pair-table th[data-sort]"));
  const taskOf = (pair) => data.tasks[pair.task];
  const haystack = data.pairs.map((p) =>
    [taskOf(p).id, p.key, p.outcome.replace(/_/g, " "), p.comment || ""].join("\n").toLowerCase()
  );
  let sortBy = null;
  let direction = 1;
  let selected = null;

  function wanted(pair, i, query, which) {
    if (which === "changed") {
      if (pair.baseline == null || pair.baseline === pair.verdict) return false;
    } else if (which !== "all" && pair.status !== which) {
      return false;
    }
    return query === "" || haystack[i].includes(query);
  }

  function sortValue(pair, by) {
    if (by === "task") return taskOf(pair).id;
    if (by === "score") return pair.score == null ? -Infinity : pair.score;
    const value = pair[by];
    return value == null ? "" : String(value);
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : text;
    if (className) td.className = className;
    return td;
  }

  function row(pair, index) {
    const tr = document.createElement("tr");
    tr.className = pair.status;
    tr.dataset.pair = String(index);
    if (selected === pair.task) tr.classList.add("selected");
    tr.append(
      cell(taskOf(pair).id),
      cell(pair.key),
      cell(pair.outcome.replace(/_/g, " ")),
      cell(pair.verdict == null ? "not graded" : pair.verdict),
      cell(pair.baseline == null ? "" : pair.baseline),
      cell(pair.score == null ? "" : String(Math.round(pair.score * 1000) / 1000)),
      cell(pair.comment, "comment")
    );
    tr.addEventListener("click", () => showTask(pair.task));
    return tr;
  }

  function render() {
    const query = filter.value.trim().toLowerCase();
    const which = status.value;
    const chosen = [];
    data.pairs.forEach((pair, i) => {
      if (wanted(pair, i, query, which)) chosen.push(i);
    });
    if (sortBy) {
      chosen.sort((a, b) => direction * compare(sortValue(data.pairs[a], sortBy), sortValue(data.pairs[b], sortBy)));
    }
    const rows = document.createDocumentFragment();
    for (const i of chosen.slice(0, LIMIT)) rows.appendChild(row(data.pairs[i], i));
    tbody.replaceChildren(rows);
    shown.textContent = chosen.length + " of " + data.pairs.length + " pairs";
    more.textContent =
      chosen.length > LIMIT ? "Showing the first " + LIMIT + "; narrow the filter to see the others." : "";
  }

  function field(name, text) {
    const div = document.createElement("div");
    div.className = "field";
    const label = document.createElement("b");
    label.textContent = name;
    const pre = document.createElement("pre");
    pre.textContent = text;
    div.append(label, pre);
    return div;
  }

  function events(list, into) {
    for (const event of list) {
      const div = document.createElement("div");
      div.className = "event " + event.kind;
      const title = document.createElement("div");
      title.textContent = event.title;
      div.appendChild(title);
      if (event.body != null) {
        const pre = document.createElement("pre");
        pre.textContent = event.body;
        div.appendChild(pre);
      }
      into.appendChild(div);
    }
  }

  function showTask(index) {
    const task = data.tasks[index];
    selected = index;
    document.getElementById("transcript-task").textContent = task.id;
    const body = document.getElementById("transcript-body");
    body.replaceChildren();
    if (task.attempts.length === 0) {
      const p = document.createElement("p");
      p.textContent = "The run holds no record of this task.";
      body.appendChild(p);
    }
    for (const attempt of task.attempts) {
      const box = document.createElement("div");
      box.className = "attempt";
      const h = document.createElement("h3");
      h.textContent =
        (attempt.attempt == null ? "Run" : "Attempt " + attempt.attempt) +
        " · " + attempt.duration_ms + " ms · " + attempt.tokens[0] + " input + " + attempt.tokens[1] + " output tokens";
      box.appendChild(h);
      box.appendChild(field("inputs", attempt.inputs));
      if (attempt.reference != null) box.appendChild(field("reference", attempt.reference));
      events(attempt.events, box);
      if (attempt.exception != null) {
        const div = document.createElement("div");
        div.className = "event exception";
        div.textContent = "failed: " + attempt.exception;
        box.appendChild(div);
      }
      if (attempt.outputs != null) box.appendChild(field("outputs", attempt.outputs));
      for (const feedback of attempt.feedback) {
        const text = (feedback.score == null ? "no score" : feedback.score) + (feedback.comment ? " · " + feedback.comment : "");
        box.appendChild(field("feedback " + feedback.key, text));
      }
      for (const judge of attempt.judges) {
        const div = document.createElement("div");
        div.className = "field";
        const label = document.createElement("b");
        label.textContent =
          "judge " + judge.scorer + " · " + judge.duration_ms + " ms · " + judge.tokens[0] + " input + " + judge.tokens[1] + " output tokens";
        div.appendChild(label);
        events(judge.events, div);
        box.appendChild(div);
      }
      body.appendChild(box);
    }
    const section = document.getElementById("transcript");
    section.hidden = false;
    for (const tr of tbody.children) tr.classList.toggle("selected", data.pairs[Number(tr.dataset.pair)].task === index);
    section.scrollIntoView({ block: "start" });
  }

  for (const th of headers) {
    th.addEventListener("click", () => {
      const by = th.dataset.sort;
      direction = sortBy === by ? -direction : 1;
      sortBy = by;
      for (const other of headers) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
      render();
    });
  }
  filter.addEventListener("input", render);
  status.addEventListener("change", render);
  render();
})();
