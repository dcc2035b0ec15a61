#include "core/iam/notifier.h"

#include "core/json_writer.h"
#include "core/time.h"

namespace custos::core::iam {

namespace {

std::string WithTenant(std::string_view url, std::string_view tenant) {
  std::string out;
  constexpr std::string_view kPlaceholder = "{tenant}";
  size_t at = 0;
  for (size_t hit; (hit = url.find(kPlaceholder, at)) != std::string_view::npos;) {
    out.append(url.substr(at, hit - at)).append(tenant);
    at = hit + kPlaceholder.size();
  }
  out.append(url.substr(at));
  return out;
}

}  // namespace

std::string InvitationLink(const NotificationLinks& links, std::string_view tenant,
                           std::string_view token) {
  std::string link = WithTenant(links.invitation_url, tenant);
  link += link.find('?') == std::string::npos ? "?token=" : "&token=";
  link += token;
  return link;
}

std::string LoginLink(const NotificationLinks& links, std::string_view tenant) {
  return WithTenant(links.login_url, tenant);
}

std::string RenderNotification(const Notification& n, const NotificationLinks& links) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String(n.type);
  w.Key("tenant").String(n.tenant);
  w.Key("email").String(n.email);
  w.Key("name").String(n.name);
  if (n.type == kInvitationLink) {
    w.Key("invitation_id").String(n.subject_id);
    w.Key("token").String(n.secret);
    w.Key("link").String(InvitationLink(links, n.tenant, n.secret));
    w.Key("expires_at").String(FormatTime(n.expires_at));
  } else if (n.type == kClientSecret) {
    w.Key("client_id").String(n.subject_id);
    w.Key("key_id").String(n.key_id);
    w.Key("client_secret").String(n.secret);
  } else if (n.type == kMembershipChanged) {
    w.Key("user_id").String(n.subject_id);
    w.Key("group_id").String(n.group_id);
    w.Key("group_name").String(n.group_name);
    w.Key("change").String(n.change);
    w.Key("login_url").String(LoginLink(links, n.tenant));
  } else {
    w.Key("user_id").String(n.subject_id);
    w.Key("temporary_password").String(n.secret);
    w.Key("login_url").String(LoginLink(links, n.tenant));
    w.Key("expires_at").String(FormatTime(n.expires_at));
  }
  w.EndObject();
  return w.Take();
}

}  // namespace custos::core::iam
