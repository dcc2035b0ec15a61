// librdkafka's log lines (syslog levels 0–7) through core/log.h, so that they follow
// `--log-format`: 0–3 error, 4 warning, 5–6 info, 7 debug, with the facility as a field.
#pragma once

#include <librdkafka/rdkafka.h>

#include "core/log.h"

namespace custos::storage::internal {

inline void RouteKafkaLogs(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(
      conf, [](const rd_kafka_t*, int level, const char* facility, const char* line) {
        using core::log::Level;
        const Level l = level <= 3   ? Level::kError
                        : level == 4 ? Level::kWarn
                        : level <= 6 ? Level::kInfo
                                     : Level::kDebug;
        core::log::Write(l, line, {{"component", "kafka"}, {"facility", facility}});
      });
}

}  // namespace custos::storage::internal
