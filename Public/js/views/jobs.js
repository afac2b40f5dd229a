// #/jobs: GET /v1/admin/jobs, each timer's last and next run.

import { api } from "../api.js";
import { badge, card, code, h, int, pageHeader, table, time } from "../dom.js";
import { formatInterval } from "../format.js";

const PURPOSE = {
  expireTrials: "Ends trials past their end (back to FREE)",
  renewPeriods: "Opens next periods and their invoices; past due, expired",
  grantAllowances: "Grants each period's credit allowances",
  expireGrants: "Expires credit grants past their validity",
  warnTrials: "Sends subscription.trial_will_end for trials ending within 3 days",
  deliverMail: "Delivers the email outbox",
  deliverWebhooks: "Delivers and retries webhook events",
  purgeExpired: "Purges expired sessions, codes and links",
  checkpointWAL: "Checkpoints the SQLite write-ahead log",
};

export function jobColumns({ compact = false } = {}) {
  const columns = [
    { label: "Timer", render: (j) => h("span", { class: "stack-tight" }, code(j.id), compact ? null : h("span", { class: "muted small" }, PURPOSE[j.id] || "")) },
    { label: "Last run", render: (j) => time(j.last_finished_at || j.last_started_at, { relative: !compact }) },
    { label: "Result", render: (j) => h("span", { class: "stack-tight" }, badge(j.last_result), j.last_error ? h("span", { class: "text-danger small" }, j.last_error) : null) },
    { label: "Items", numeric: true, render: (j) => int(j.items_processed) },
    { label: "Next run", render: (j) => time(j.next_run_at) },
  ];
  if (!compact) columns.splice(1, 0, { label: "Every", render: (j) => formatInterval(j.interval_seconds) });
  return columns;
}

export async function jobs() {
  const { jobs: list } = await api("GET", "/v1/admin/jobs");
  return h("div", { class: "page" },
    pageHeader("Timers", { subtitle: "The daemon's jobs run at start (catching up on downtime) and then on their interval." }),
    card(null, {}, table(jobColumns(), list, { empty: "No timer has run yet.", label: "Timers" })));
}
