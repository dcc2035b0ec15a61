#include "storage/kafka_dev_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "storage/internal/kafka_log.h"

namespace custos::storage {

struct KafkaDevCluster::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;

  ~Impl() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

KafkaDevCluster::KafkaDevCluster(std::unique_ptr<Impl> impl, std::string bootstrap)
    : impl_(std::move(impl)), bootstrap_(std::move(bootstrap)) {}

KafkaDevCluster::~KafkaDevCluster() = default;

core::Result<std::unique_ptr<KafkaDevCluster>> KafkaDevCluster::Start(
    const KafkaDevClusterOptions& options) {
  if (options.brokers < 1 || options.brokers > 16) {
    return core::InvalidField("brokers", "must be between 1 and 16");
  }
  if (options.partitions < 1 || options.partitions > 1024) {
    return core::InvalidField("partitions", "must be between 1 and 1024");
  }
  auto impl = std::make_unique<Impl>();
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; keep it quiet.
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return core::Internal(std::string("kafka config: ") + errstr);
  }
  internal::RouteKafkaLogs(conf);
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (impl->rk == nullptr) {
    return core::Internal(std::string("starting the mock cluster's host handle: ") + errstr);
  }
  impl->cluster = rd_kafka_mock_cluster_new(impl->rk, options.brokers);
  if (impl->cluster == nullptr) return core::Internal("librdkafka could not start a mock cluster");
  for (const std::string& topic : options.topics) {
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(impl->cluster, topic.c_str(), options.partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return core::Internal("creating topic " + topic + ": " + rd_kafka_err2str(err));
    }
  }
  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(impl->cluster);
  return std::unique_ptr<KafkaDevCluster>(new KafkaDevCluster(std::move(impl), bootstrap));
}

core::Status KafkaDevCluster::SetBrokerDown(int broker_id, bool down) {
  rd_kafka_resp_err_t err = down ? rd_kafka_mock_broker_set_down(impl_->cluster, broker_id)
                                 : rd_kafka_mock_broker_set_up(impl_->cluster, broker_id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return core::InvalidArgument("broker " + std::to_string(broker_id) + ": " +
                                 rd_kafka_err2str(err));
  }
  return core::OkStatus();
}

void KafkaDevCluster::FailNextProduces(int count, int error_code) {
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count),
                                          static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, /*ApiKey Produce*/ 0, errors.size(),
                                          errors.data());
}

}  // namespace custos::storage
