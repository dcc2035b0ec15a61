// The console (../shared/spec/CONSOLE.md): the built single-page app, served from memory
// (console_files.h). It is a public client of the API like any other: these routes hand out
// files and nothing else, and every page that shows data asks the API with the signed-in
// principal's token.
#include "api/console_files.h"
#include "api/internal/call.h"

namespace custos::api::internal {

namespace {

// No inline script or style, nothing from another origin, no framing, no <base> or form
// posts elsewhere: the app is script and style files from /console/assets and fetches to
// this origin.
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// RFC 9110 §13.1.2: "*", or a list of entity tags compared weakly (W/ ignored).
bool NoneMatch(std::optional<std::string_view> header, std::string_view etag) {
  if (!header) return false;
  std::string_view h = *header;
  while (!h.empty()) {
    const size_t comma = h.find(',');
    std::string_view tag = h.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    h.remove_prefix(comma + 1);
  }
  return false;
}

HttpResponse FileResponse(const HttpRequest& req, const ConsoleFiles::File& f) {
  HttpResponse r;
  r.Header("Content-Security-Policy", kCsp);
  r.Header("X-Content-Type-Options", "nosniff");
  r.Header("Referrer-Policy", "no-referrer");
  r.Header("X-Frame-Options", "DENY");
  r.Header("Cross-Origin-Opener-Policy", "same-origin");
  r.Header("ETag", f.etag);
  // Hashed assets never change under their name; everything else (index.html) is checked
  // every time, so a new build is picked up at the next load.
  r.Header("Cache-Control", f.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (NoneMatch(req.Header("if-none-match"), f.etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = f.content_type;
  r.body = f.body;
  return r;
}

}  // namespace

void AddConsoleRoutes(RouteTable& t, Services& s) {
  const std::shared_ptr<const ConsoleFiles> files = s.deps.console;
  auto serve = [files](const CallPtr& call, const ConsoleFiles::File* f) {
    if (files == nullptr) {
      return call->Reply(Problem(404, "this server has no console (custos serve --console-dir)"));
    }
    if (f == nullptr) return call->Reply(Problem(404, "no such console file"));
    call->Reply(FileResponse(call->req, *f));
  };
  t.Add({"GET", "/console", Access::kPublic, "", ""}, [](const CallPtr& call) {
    HttpResponse r;
    r.status = 308;
    r.content_type.clear();
    r.Header("Location", "/console/");
    call->Reply(std::move(r));
  });
  // The app reads `subject` (Access: the subject to check) from its own address.
  t.Add(RouteSpec{"GET", "/console/", Access::kPublic, "", ""}.Query("subject"),
        [files, serve](const CallPtr& call) { serve(call, files ? &files->index() : nullptr); });
  t.Add({"GET", "/console/assets/{file}", Access::kPublic, "", ""},
        [files, serve](const CallPtr& call) {
          serve(call, files ? files->Find("assets/" + call->Param("file")) : nullptr);
        });
  // A page's own address (/console/users, /console/users/usr_…) loads the app, which shows
  // that page once signed in; a top-level file (favicon.svg) is served as itself.
  t.Add(RouteSpec{"GET", "/console/{page}", Access::kPublic, "", ""}.Query("subject"),
        [files, serve](const CallPtr& call) {
          if (files == nullptr) return serve(call, nullptr);
          const ConsoleFiles::File* f = files->Find(call->Param("page"));
          serve(call, f != nullptr ? f : &files->index());
        });
  t.Add(RouteSpec{"GET", "/console/{page}/{id}", Access::kPublic, "", ""}.Query("subject"),
        [files, serve](const CallPtr& call) { serve(call, files ? &files->index() : nullptr); });
}

}  // namespace custos::api::internal
