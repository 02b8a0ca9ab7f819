// Gemello portal: check audit inclusion proofs in the reader's own browser, without trusting
// the server's word. SHA-256 comes from WebCrypto; the algorithm is RFC 9162, section 2.1.3.2
// (verifying an inclusion proof). Each entry's leaf hash is checked against the root of a head
// of the log that other members co-signed.
"use strict";

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function bytesToHex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

// RFC 9162 2.1.1: an interior node hashes 0x01 || left || right.
async function nodeHash(left, right) {
  const data = new Uint8Array(1 + left.length + right.length);
  data[0] = 1;
  data.set(left, 1);
  data.set(right, 1 + left.length);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

// RFC 9162 2.1.3.2: true when `proof` leads from the leaf at `index` to `root` in a tree of
// `size` leaves. Sizes stay below 2^53, so plain numbers (divided, not shifted) are exact.
async function verifyInclusion(index, size, leafHex, proofHex, rootHex) {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = hexToBytes(leafHex);
  for (const p of proofHex.map(hexToBytes)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesToHex(r) === rootHex;
}

function say(box, cls, text) {
  const p = document.createElement("p");
  p.className = cls;
  p.textContent = text;
  box.append(p);
}

async function verifyBundle(button) {
  const box = document.getElementById(button.dataset.target);
  const words = box.dataset;
  box.replaceChildren();
  box.setAttribute("aria-busy", "true");
  button.disabled = true;
  try {
    const response = await fetch(button.dataset.proofs, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(response.status + " " + response.statusText);
    const bundle = await response.json();
    const head = bundle.checkpoint;
    if (head.rolled_back) say(box, "bad", words.rolledback);
    if (!head.size) {
      if (!head.rolled_back) say(box, "notice", words.nohead);
      return;
    }
    const roots = new Set(head.cosigners.map((c) => c.root || head.root));
    say(box, "", words.head.replace("{size}", head.size).replace("{root}", head.root.slice(0, 16) + "…")
      .replace("{who}", head.cosigners.map((c) => c.member).join(", ") || "—"));
    const list = document.createElement("ul");
    list.className = "proofs";
    let failed = 0;
    for (const e of bundle.entries) {
      const ok = roots.size === 1 && await verifyInclusion(e.seq, head.size, e.leaf_hash, e.proof, head.root);
      if (!ok) failed++;
      const li = document.createElement("li");
      li.className = ok ? "ok" : "bad";
      li.textContent = (ok ? "✓ " : "✗ ") + "#" + e.seq + " · " + e.at + " · " + e.action + " · "
        + e.organisation + (e.purpose ? " · " + e.purpose : "") + " · " + e.outcome;
      list.append(li);
    }
    box.append(list);
    if (failed) say(box, "bad", words.fail.replace("{n}", failed));
    else say(box, "ok", words.ok.replace("{n}", bundle.entries.length));
    if (bundle.pending) say(box, "notice", words.pending.replace("{n}", bundle.pending));
  } catch (err) {
    say(box, "bad", words.error + " " + err.message);
  } finally {
    box.setAttribute("aria-busy", "false");
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-proofs]")) {
    button.hidden = false;
    button.addEventListener("click", () => verifyBundle(button));
  }
});
