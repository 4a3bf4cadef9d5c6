"""The two small pages e-mailed links open, in English and Simplified Chinese; self-contained, no assets.

Each page reads the token from the URL fragment and posts JSON to its endpoint, so the token never
appears in a request line or a log. Its inline script and style carry a per-response CSP nonce.
"""

from __future__ import annotations

import html
import json
import secrets
from enum import StrEnum

from starlette.requests import Request

LANGUAGES = ("en", "zh-CN")


class PageKind(StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "invitation_title": "Choose your password",
        "invitation_intro": "Welcome to channel-crm. Choose the password you will sign in with.",
        "reset_title": "Reset your password",
        "reset_intro": "Choose a new password. Every device signed in to your account will be signed out.",
        "request_intro": "Enter your organization's tenant and your e-mail: we will send you a link to reset "
        "your password.",
        "password": "New password",
        "confirm": "Repeat the password",
        "hint": "At least 12 characters; a few unrelated words make a good one.",
        "set": "Set password",
        "tenant": "Tenant",
        "email": "E-mail",
        "send": "Send the link",
        "no_token": "This page needs the link from your e-mail. Open the link again, all of it.",
        "mismatch": "The two passwords differ.",
        "working": "One moment…",
        "failed": "The password was not set:",
        "network": "The service could not be reached; try again.",
        "signed_in": "Your password is set and you are signed in.",
        "mfa": "Your password is set. Your organization requires a second factor: sign in to finish setting it up.",
        "requested": "If that account exists, a link to reset its password is on its way. It works for 30 minutes.",
        "open_api": "Open the partner portal",
    },
    "zh-CN": {
        "invitation_title": "设置您的密码",
        "invitation_intro": "欢迎使用 channel-crm。请设置您今后登录使用的密码。",
        "reset_title": "重置密码",
        "reset_intro": "请设置新密码。您账户在所有设备上的登录都将退出。",
        "request_intro": "请输入您所在组织的租户标识和您的电子邮箱，我们会发送一封重置密码的邮件给您。",
        "password": "新密码",
        "confirm": "再次输入密码",
        "hint": "至少 12 个字符；几个互不相关的词组成的密码就很好。",
        "set": "设置密码",
        "tenant": "租户",
        "email": "电子邮箱",
        "send": "发送链接",
        "no_token": "此页面需要通过邮件中的链接打开。请重新完整地打开该链接。",
        "mismatch": "两次输入的密码不一致。",
        "working": "请稍候……",
        "failed": "密码未能设置：",
        "network": "无法连接到服务，请重试。",
        "signed_in": "密码已设置，您已登录。",
        "mfa": "密码已设置。您的组织要求使用第二重验证：请登录以完成设置。",
        "requested": "如果该账户存在，重置密码的链接已经发出，30 分钟内有效。",
        "open_api": "打开合作伙伴门户",
    },
}

_STYLE = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;
margin:0;background:#f4f5f7;color:#1d2230}
main{max-width:26rem;margin:8vh auto;background:#fff;padding:2rem;border-radius:10px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 .5rem}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #b8bcc6;border-radius:6px;font:inherit}
button{margin-top:1.25rem;width:100%;padding:.65rem;border:0;border-radius:6px;background:#2456d3;color:#fff;
font:inherit;font-weight:600;cursor:pointer}
button:disabled{opacity:.6}
.hint{color:#5b6170;font-size:.875rem;margin:.35rem 0 0}
#message{min-height:1.5rem;margin-top:1rem}
#message.error{color:#b3261e}
#message.ok{color:#1b7a3a}
nav{margin-top:1.5rem;font-size:.875rem;color:#5b6170}
nav a{color:#2456d3}
[hidden]{display:none}
"""

_SCRIPT = """
(function () {
  var T = %(texts)s, kind = %(kind)s;
  var params = new URLSearchParams(location.hash.slice(1));
  var token = params.get("token");
  var message = document.getElementById("message");
  var setForm = document.getElementById("set-password");
  var requestForm = document.getElementById("request-reset");
  function say(text, cls) { message.textContent = text; message.className = cls || ""; }
  document.querySelectorAll("nav a[data-lang]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      var q = new URLSearchParams(location.search); q.set("lang", a.dataset.lang);
      location.replace("?" + q.toString() + location.hash);
    });
  });
  async function post(url, body) {
    var response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
      credentials: "same-origin", body: JSON.stringify(body)});
    var data = {};
    try { data = await response.json(); } catch (e) {}
    return {status: response.status, data: data};
  }
  if (token) {
    setForm.hidden = false;
  } else if (kind === "password_reset") {
    requestForm.hidden = false;
  } else {
    say(T.no_token, "error");
  }
  setForm.addEventListener("submit", async function (e) {
    e.preventDefault();
    var password = setForm.password.value;
    if (password !== setForm.confirm.value) { say(T.mismatch, "error"); return; }
    var button = setForm.querySelector("button"); button.disabled = true; say(T.working);
    var url = kind === "invitation" ? "/auth/invitation/accept" : "/auth/password-reset/confirm";
    try {
      var r = await post(url, {token: token, password: password, cookie: true});
      if (r.status === 200) {
        history.replaceState(null, "", location.pathname + location.search);
        setForm.hidden = true;
        say(r.data.mfa_required ? T.mfa : T.signed_in, "ok");
        document.getElementById("done").hidden = false;
      } else {
        say(T.failed + " " + ((r.data.error && r.data.error.message) || r.status), "error");
        button.disabled = false;
      }
    } catch (err) { say(T.network, "error"); button.disabled = false; }
  });
  if (requestForm) requestForm.addEventListener("submit", async function (e) {
    e.preventDefault();
    var button = requestForm.querySelector("button"); button.disabled = true; say(T.working);
    try {
      var r = await post("/auth/password-reset", {tenant: requestForm.tenant.value.trim(),
        email: requestForm.email.value.trim()});
      if (r.status === 202) { requestForm.hidden = true; say(T.requested, "ok"); }
      else { say((r.data.error && r.data.error.message) || String(r.status), "error"); button.disabled = false; }
    } catch (err) { say(T.network, "error"); button.disabled = false; }
  });
})();
"""


def page_language(request: Request) -> str:
    """The page's language: `?lang=` when it names one we have, else the browser's Accept-Language, else English."""
    wanted = request.query_params.get("lang")
    if wanted:
        return "zh-CN" if wanted.lower().startswith("zh") else "en"
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def render_page(kind: PageKind, language: str, *, tenant: str = "") -> tuple[str, str]:
    """The page's HTML in the language, and the CSP nonce its inline script and style carry."""
    t = _TEXTS[language if language in _TEXTS else "en"]
    e = {key: html.escape(value) for key, value in t.items()}
    nonce = secrets.token_urlsafe(16)
    is_invitation = kind is PageKind.INVITATION
    title = e["invitation_title"] if is_invitation else e["reset_title"]
    intro = e["invitation_intro"] if is_invitation else e["reset_intro"]
    request_form = (
        ""
        if is_invitation
        else f"""
<form id="request-reset" hidden>
  <p>{e["request_intro"]}</p>
  <label for="tenant">{e["tenant"]}</label>
  <input id="tenant" name="tenant" autocomplete="organization" required value="{html.escape(tenant)}">
  <label for="email">{e["email"]}</label>
  <input id="email" name="email" type="email" autocomplete="email" required>
  <button type="submit">{e["send"]}</button>
</form>"""
    )
    script = _SCRIPT % {"texts": _script_json(t), "kind": _script_json(kind.value)}
    page = f"""<!doctype html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title} · channel-crm</title>
<style nonce="{nonce}">{_STYLE}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<form id="set-password" hidden>
  <p>{intro}</p>
  <label for="password">{e["password"]}</label>
  <input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
  <p class="hint">{e["hint"]}</p>
  <label for="confirm">{e["confirm"]}</label>
  <input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
  <button type="submit">{e["set"]}</button>
</form>{request_form}
<p id="message" role="status" aria-live="polite"></p>
<p id="done" hidden><a href="/portal/">{e["open_api"]}</a></p>
<nav><a href="?lang=en" data-lang="en">English</a> · <a href="?lang=zh-CN" data-lang="zh-CN">简体中文</a></nav>
</main>
<script nonce="{nonce}">{script}</script>
</body>
</html>
"""
    return page, nonce
