"""The texts of the e-mails the CRM sends, in English and Simplified Chinese; `string.Template` placeholders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from string import Template

DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES = ("en", "zh-CN")


class MailKind(StrEnum):
    """What an e-mail is for; each kind has one text per supported locale."""

    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"


@dataclass(frozen=True)
class MailText:
    subject: Template
    body: Template


@dataclass(frozen=True)
class RenderedMail:
    """A subject and plain-text body ready for the outbox, and the locale they are in."""

    locale: str
    subject: str
    body_text: str


def _text(subject: str, body: str) -> MailText:
    return MailText(Template(subject), Template(body))


_TEXTS: dict[MailKind, dict[str, MailText]] = {
    MailKind.INVITATION: {
        "en": _text(
            "You are invited to $organization",
            """Hello $name,

$inviter has invited you to $organization on channel-crm.

Choose your password to sign in for the first time:

$link

The link works once and expires in 7 days ($expires_at). If it has expired, ask whoever invited
you to send a new one.
""",
        ),
        "zh-CN": _text(
            "邀请您加入 $organization",
            """$name，您好：

$inviter 邀请您加入 channel-crm 上的 $organization。

请打开以下链接设置密码，完成首次登录：

$link

该链接只能使用一次，7 天后失效（$expires_at）。如已失效，请联系邀请人重新发送邀请。
""",
        ),
    },
    MailKind.PASSWORD_RESET: {
        "en": _text(
            "Reset your channel-crm password",
            """Hello $name,

Someone asked to reset the password of your channel-crm account ($email) at $organization.

To choose a new password, open this link:

$link

The link works once and expires in 30 minutes ($expires_at).

If you did not ask for this, ignore this e-mail: your password stays as it is.
""",
        ),
        "zh-CN": _text(
            "重置您的 channel-crm 密码",
            """$name，您好：

有人申请重置您在 $organization 的 channel-crm 账户（$email）的密码。

如需设置新密码，请打开以下链接：

$link

该链接只能使用一次，30 分钟后失效（$expires_at）。

如果这不是您本人的操作，请忽略本邮件，您的密码不会改变。
""",
        ),
    },
    MailKind.PASSWORD_CHANGED: {
        "en": _text(
            "Your channel-crm password was changed",
            """Hello $name,

The password of your channel-crm account ($email) at $organization was changed on $changed_at,
and every other device signed in to it was signed out.

If this was you, there is nothing more to do. If it was not, reset your password at once and tell
your administrator.
""",
        ),
        "zh-CN": _text(
            "您的 channel-crm 密码已更改",
            """$name，您好：

您在 $organization 的 channel-crm 账户（$email）的密码已于 $changed_at 更改，
其他已登录的设备均已退出登录。

如果是您本人操作，无需再做任何事。如果不是，请立即重置密码并告知您的管理员。
""",
        ),
    },
}


# Who invited, when no person did (an operator at the command line).
_NO_INVITER = {"en": "An administrator", "zh-CN": "管理员"}


def supported_locale(locale: str | None) -> str:
    """The locale itself when the CRM has texts in it, else English."""
    return locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE


def render(kind: MailKind, locale: str | None, **values: str) -> RenderedMail:
    """The subject and body of an e-mail of this kind in the locale (English when it has none)."""
    chosen = supported_locale(locale)
    text = _TEXTS[kind][chosen]
    return RenderedMail(chosen, text.subject.substitute(values), text.body.substitute(values))


def when(moment: datetime) -> str:
    """A time as the e-mails show it: UTC to the minute."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def invitation(
    locale: str | None, *, name: str, inviter: str | None, organization: str, link: str, expires_at: datetime
) -> RenderedMail:
    """The invitation: who invited, to which organization, the link and when it expires."""
    chosen = supported_locale(locale)
    return render(
        MailKind.INVITATION,
        chosen,
        name=name,
        inviter=inviter or _NO_INVITER[chosen],
        organization=organization,
        link=link,
        expires_at=when(expires_at),
    )


def password_reset(
    locale: str | None, *, name: str, email: str, organization: str, link: str, expires_at: datetime
) -> RenderedMail:
    """The password reset link, valid for 30 minutes, with "ignore this if it was not you"."""
    return render(
        MailKind.PASSWORD_RESET,
        locale,
        name=name,
        email=email,
        organization=organization,
        link=link,
        expires_at=when(expires_at),
    )


def password_changed(
    locale: str | None, *, name: str, email: str, organization: str, changed_at: datetime
) -> RenderedMail:
    """The notice that the password was changed and other devices signed out."""
    return render(
        MailKind.PASSWORD_CHANGED,
        locale,
        name=name,
        email=email,
        organization=organization,
        changed_at=when(changed_at),
    )
