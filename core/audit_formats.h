// The export formats of the audit API (`…/audit/export?format=csv|ocsf`) and of the OCSF Kafka
// topic, rendered from one stored event line (event.h) at a time so that an export streams in
// constant memory. JSONL needs no rendering: it is the stored lines byte for byte.
//
// CSV (RFC 4180): AuditCsvHeader() once, then one AuditCsvRow() per event. Rows end in CRLF;
// a field is quoted only when it holds `,`, `"`, CR or LF, with quotes doubled. `data` is the
// event's `data` object copied byte for byte from the line; absent optional members
// (target, names) are empty fields.
//
// OCSF: one compact JSON object per event (no newline), OCSF 1.3.0, mapped per
// ../shared/spec/EVENTS.md "OCSF mapping" (the class and activity of each event type are documented
// at OcsfActivityOf in audit_formats.cc). Every record carries class_uid, activity_id, type_uid
// (class_uid × 100
// + activity_id), category_uid, severity_id, status_id, time (epoch ms), metadata (product,
// OCSF version, the event id as uid, tenant and tenant_seq), actor, src_endpoint and the
// class's own objects (user, group, api); the event's `data` (and `changes`) are kept
// verbatim under `unmapped`.
//
// A line that is not a stored event line fails with kCorruption: these functions read what
// the log wrote, so a line they cannot read means the store is damaged.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/event.h"
#include "core/result.h"

namespace custos::core {

// The OCSF schema version the records follow (metadata.version).
inline constexpr std::string_view kOcsfSchemaVersion = "1.3.0";

// "id,seq,tenant_seq,time,type,actor_type,actor_id,actor_name,target_type,target_id,
// target_name,request_id,data\r\n".
[[nodiscard]] std::string_view AuditCsvHeader();

// Appends one RFC 4180 field: quoted (quotes doubled) only when it holds `,`, `"`, CR or LF,
// or begins with a UTF-8 byte order mark (which a reader drops at the start of a file). A
// field that a spreadsheet would take for a formula — beginning with `=`, `+`, `-`, `@`, TAB
// or CR — is written with a leading `'` (OWASP CSV injection). The one CSV field writer of
// Custos (audit exports, user exports).
void AppendCsvField(std::string& out, std::string_view field);
// The field a spreadsheet reads back for `field` as AppendCsvField writes it.
[[nodiscard]] std::string CsvSafeValue(std::string_view field);

// One CSV record of the event, CRLF included.
[[nodiscard]] Result<std::string> AuditCsvRow(std::string_view line);

// The OCSF class and activity an event type maps to.
struct OcsfActivity {
  int class_uid = 0;               // 3001, 3002, 3005, 3006 or 6003
  int activity_id = 0;             // within the class; 99 (Other) when OCSF 1.3 has none
  std::string_view activity_name;  // the class's caption for activity_id, or ours for 99
};

// Every catalog type (../shared/spec/EVENTS.md) maps explicitly; any other (application) type maps
// to API Activity by the verb of its last segment.
[[nodiscard]] OcsfActivity OcsfActivityOf(std::string_view type);

// One OCSF record of the event. `product_version` is Custos's own version
// (metadata.product.version); left out when empty.
[[nodiscard]] Result<std::string> AuditOcsfRecord(std::string_view line,
                                                  std::string_view product_version);
// The same, for a line whose framing the caller has read already (ParseLineFields of `line`).
[[nodiscard]] Result<std::string> AuditOcsfRecord(std::string_view line, const LineFields& fields,
                                                  std::string_view product_version);

}  // namespace custos::core
