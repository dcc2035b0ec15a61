#include "core/iam/notifier.h"

#include "core/json_writer.h"
#include "core/time.h"

namespace custos::core::iam {

std::string RenderNotification(const Notification& n, std::string_view invitation_url) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String(n.type);
  w.Key("tenant").String(n.tenant);
  w.Key("email").String(n.email);
  w.Key("name").String(n.name);
  if (n.type == "invitation.link") {
    w.Key("invitation_id").String(n.subject_id);
    w.Key("token").String(n.secret);
    std::string link(invitation_url);
    link += invitation_url.find('?') == std::string_view::npos ? "?token=" : "&token=";
    link += n.secret;
    w.Key("link").String(link);
  } else if (n.type == "api_client.secret") {
    w.Key("client_id").String(n.subject_id);
    w.Key("key_id").String(n.key_id);
    w.Key("client_secret").String(n.secret);
    w.EndObject();
    return w.Take();
  } else {
    w.Key("user_id").String(n.subject_id);
    w.Key("temporary_password").String(n.secret);
  }
  w.Key("expires_at").String(FormatTime(n.expires_at));
  w.EndObject();
  return w.Take();
}

}  // namespace custos::core::iam
