#include "core/iam/mail.h"

#include <array>
#include <chrono>
#include <cstdio>

#include "core/base64.h"

namespace custos::core::iam {
namespace {

bool IsPrintableAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool HasControl(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 2047 encoded words ("=?UTF-8?B?…?="), each at most 75 characters, split only between
// UTF-8 sequences, folded onto continuation lines.
std::string EncodedWords(std::string_view text) {
  constexpr size_t kChunk = 45;  // 60 base64 characters + 12 of framing
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = std::min(text.size(), at + kChunk);
    // Never split a multi-byte character: back off from continuation bytes.
    while (end < text.size() && end > at + 1 &&
           (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
      --end;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64Encode(text.substr(at, end - at)) + "?=";
    at = end;
  }
  return out;
}

// Unstructured header text (Subject): as is when printable ASCII, else encoded words.
std::string HeaderText(std::string_view text) {
  return IsPrintableAscii(text) ? std::string(text) : EncodedWords(text);
}

// A mailbox header value: "Display" <addr>, the display name quoted or encoded.
std::string MailboxHeader(std::string_view display, std::string_view address) {
  display = Trim(display);
  if (display.empty()) return std::string(address);
  std::string out;
  if (IsPrintableAscii(display)) {
    out += '"';
    for (char c : display) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  } else {
    out = EncodedWords(display);
  }
  out += " <";
  out += address;
  out += '>';
  return out;
}

// Quoted-printable (RFC 2045 §6.7) of UTF-8 text whose lines end with '\n': CRLF line ends,
// no encoded line over 76 characters, only printable ASCII on the wire.
std::string QuotedPrintable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t line = 0;
  auto put = [&](std::string_view piece) {
    if (line + piece.size() > 75) {
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\r\n";
      line = 0;
      continue;
    }
    const bool line_end = i + 1 == text.size() || text[i + 1] == '\n';
    if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end)) {
      const char one[1] = {static_cast<char>(c)};
      put(std::string_view(one, 1));
    } else {
      const char three[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      put(std::string_view(three, 3));
    }
  }
  return out;
}

// "2026-12-08 02:31 UTC", for a person.
std::string ReadableTime(Time t) {
  std::string iso = FormatTime(t);  // 2026-12-08T02:31:52.000Z
  return iso.substr(0, 10) + " " + iso.substr(11, 5) + " UTC";
}

struct Text {
  std::string subject;
  std::string body;  // '\n' line ends
};

Result<Text> Compose(const Notification& n, const MailSettings& s) {
  const bool named = !n.name.empty() && !HasControl(n.name);
  const std::string hello = named ? "Hello " + n.name + ",\n\n" : "Hello,\n\n";
  const std::string sign = "\n-- \n" + s.product + ", for workspace " + n.tenant + "\n";
  if (n.type == kTemporaryPasswordNotice) {
    return Text{"Your " + s.product + " account in " + n.tenant,
                hello + "You have an account in workspace " + n.tenant + ". Sign in with:\n\n" +
                    "  Sign-in page:        " + LoginLink(s.links, n.tenant) + "\n" +
                    "  Workspace:           " + n.tenant + "\n" +    //
                    "  Email:               " + n.email + "\n" +     //
                    "  Temporary password:  " + n.secret + "\n\n" +  //
                    "The temporary password works until " + ReadableTime(n.expires_at) +
                    ". When you first sign in you will be asked to choose your own password.\n\n" +
                    "If you did not expect this message, tell your administrator.\n" + sign};
  }
  if (n.type == kInvitationLink) {
    return Text{"You are invited to " + n.tenant,
                hello + "You are invited to join workspace " + n.tenant + " in " + s.product +
                    ". Accept the invitation here:\n\n  " +
                    InvitationLink(s.links, n.tenant, n.secret) + "\n\n" + "The link works until " +
                    ReadableTime(n.expires_at) +
                    " and only once. If you did not expect it, ignore this message.\n" + sign};
  }
  if (n.type == kMembershipChanged) {
    const bool added = n.change == "added";
    return Text{"Your groups in " + n.tenant + " changed",
                hello +
                    (added ? "You were added to the group " : "You were removed from the group ") +
                    n.group_name + " in workspace " + n.tenant + ".\n\n" +
                    "What you may see and do follows from your groups and roles. Sign in to see "
                    "it:\n\n  " +
                    LoginLink(s.links, n.tenant) + "\n" + sign};
  }
  return InvalidArgument("a " + n.type + " notification is not mailed");
}

}  // namespace

Result<Mailbox> ParseMailbox(std::string_view text) {
  text = Trim(text);
  Mailbox box;
  const size_t open = text.rfind('<');
  if (!text.empty() && text.back() == '>' && open != std::string_view::npos) {
    std::string_view display = Trim(text.substr(0, open));
    if (display.size() >= 2 && display.front() == '"' && display.back() == '"') {
      display = display.substr(1, display.size() - 2);
    }
    if (HasControl(display) || display.size() > 200) {
      return InvalidArgument(
          "a mailbox's display name must be at most 200 characters and have "
          "no control characters");
    }
    box.display = std::string(display);
    box.address = std::string(text.substr(open + 1, text.size() - open - 2));
  } else {
    box.address = std::string(text);
  }
  if (!IsValidEmail(box.address)) {
    return InvalidArgument("'" + std::string(text) +
                           "' is not a mailbox (ADDRESS or NAME <ADDRESS>)");
  }
  return box;
}

std::string FormatMailDate(Time t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{std::chrono::floor<std::chrono::seconds>(t - day)};
  const unsigned weekday = std::chrono::weekday{day}.c_encoding();
  char out[40];
  std::snprintf(out, sizeof out, "%s, %02u %s %04d %02ld:%02ld:%02ld +0000", kDays[weekday],
                static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()));
  return out;
}

Result<Mail> RenderMail(const Notification& n, const MailSettings& settings, Time now,
                        std::string_view message_id) {
  if (!IsValidEmail(n.email)) return InvalidArgument("no mail address to send to");
  CUSTOS_ASSIGN_OR_RETURN(Text text, Compose(n, settings));
  Mail mail;
  mail.envelope_from = settings.from.address;
  mail.to = n.email;
  std::string& m = mail.message;
  m += "From: " + MailboxHeader(settings.from.display, settings.from.address) + "\r\n";
  m += "To: " + MailboxHeader(HasControl(n.name) ? "" : n.name, n.email) + "\r\n";
  m += "Subject: " + HeaderText(text.subject) + "\r\n";
  m += "Date: " + FormatMailDate(now) + "\r\n";
  m += "Message-ID: <" + std::string(message_id) + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "X-Custos-Notification: " + n.type + "\r\n";
  m += "\r\n";
  m += QuotedPrintable(text.body);
  return mail;
}

}  // namespace custos::core::iam
