#include "lightpeft/train/task_data.h"

#include "lightpeft/core/error.h"
#include "lightpeft/distributed/process_group.h"
#include "lightpeft/core/log.h"
#include "lightpeft/data/glue.h"
#include "lightpeft/data/user_task.h"

namespace lightpeft {
namespace {

UserTaskSpec to_user_spec(const UserTaskSection& u) {
  UserTaskSpec s;
  s.format = u.format;
  s.text_column = u.text_column;
  s.text_pair_column = u.text_pair_column;
  s.label_column = u.label_column;
  s.label_names = u.labels;
  s.regression = u.regression;
  s.metric = u.metric;
  return s;
}

EncodedExample encode_one(const Tokenizer& tok, const std::string& text, const std::string* pair,
                          int64_t max_length, float label) {
  EncodeOptions opt;
  opt.max_length = max_length;
  Encoding e = tok.encode(text, pair, opt);
  EncodedExample out;
  out.input_ids = std::move(e.input_ids);
  out.token_type_ids = std::move(e.token_type_ids);
  out.label = label;
  return out;
}

}  // namespace

EncodedSplit encode_examples(const std::vector<Example>& examples, const Tokenizer& tokenizer,
                             const TaskSpec& spec, int64_t max_length) {
  EncodedSplit out;
  out.examples.reserve(examples.size());
  for (const auto& ex : examples) {
    if (spec.multiple_choice) {
      // One encoding per choice; the label (the right choice) rides on the first.
      for (const auto& choice : ex.choices)
        out.examples.push_back(encode_one(tokenizer, ex.text, &choice, max_length, ex.label));
    } else {
      out.examples.push_back(encode_one(tokenizer, ex.text, ex.text_pair ? &*ex.text_pair : nullptr,
                                        max_length, ex.label));
    }
    if (ex.group >= 0) out.groups.push_back(ex.group);
  }
  return out;
}

TaskData load_task_data(const TrainConfig& config, const Tokenizer& tokenizer, TaskSplits splits) {
  TaskData data;
  LoadOptions train_opt, dev_opt;
  train_opt.skip_bad_rows = dev_opt.skip_bad_rows = config.training.skip_bad_rows;
  train_opt.max_examples = config.training.max_train_samples;
  dev_opt.max_examples = config.training.max_eval_samples;
  std::vector<Example> train, dev;
  if (config.task == "user") {
    const UserTaskSection& u = *config.user_task;
    UserTaskSpec spec = to_user_spec(u);
    data.spec = user_task_spec(spec);
    std::vector<std::filesystem::path> files;
    if (splits.train) files.push_back(u.train_file);
    if (splits.dev) files.push_back(u.dev_file);
    for (const auto& f : files)
      LP_CHECK(std::filesystem::is_regular_file(f), config.source.string(), ": user_task file ",
               f.string(), " does not exist");
    if (splits.train) train = load_user_file(u.train_file, spec, train_opt);
    if (splits.dev) dev = load_user_file(u.dev_file, spec, dev_opt);
  } else {
    data.spec = task_spec(config.task);
    std::vector<Split> needed;
    if (splits.train) needed.push_back(Split::train);
    if (splits.dev) needed.push_back(Split::dev);
    if (!needed.empty()) check_task_files({config.task}, config.data_dir, needed);
    if (splits.train) train = load_task_split(config.task, config.data_dir, Split::train, train_opt);
    if (splits.dev) dev = load_task_split(config.task, config.data_dir, Split::dev, dev_opt);
  }
  LP_CHECK(!splits.train || !train.empty(), config.source.string(), ": the training split of '",
           config.task, "' is empty");
  LP_CHECK(!splits.dev || !dev.empty(), config.source.string(), ": the dev split of '", config.task, "' is empty");
  data.train = encode_examples(train, tokenizer, data.spec, config.max_seq_length);
  data.dev = encode_examples(dev, tokenizer, data.spec, config.max_seq_length);
  log::info("data: ", data.spec.name, " train ", train.size(), " examples, dev ", dev.size(),
            " examples, max_seq_length ", config.max_seq_length);
  return data;
}

std::vector<Example> load_prediction_examples(const TrainConfig& config, const std::string& split) {
  LoadOptions opt;
  opt.skip_bad_rows = config.training.skip_bad_rows;
  std::vector<Example> out;
  if (config.task == "user") {
    const UserTaskSection& u = *config.user_task;
    LP_CHECK(split == "test", config.source.string(), ": task user predicts user_task.test_file only (--split test), not '",
             split, "'");
    LP_CHECK(!u.test_file.empty(), config.source.string(),
             ": key 'user_task.test_file': required to predict (an unlabelled file in the task's format)");
    LP_CHECK(std::filesystem::is_regular_file(u.test_file), config.source.string(),
             ": key 'user_task.test_file': ", u.test_file.string(), " does not exist");
    out = load_user_file(u.test_file, to_user_spec(u), opt);
  } else {
    const Split s = parse_split(split);
    check_task_files({config.task}, config.data_dir, {s});
    out = load_task_split(config.task, config.data_dir, s, opt);
  }
  LP_CHECK(!out.empty(), config.source.string(), ": the ", split, " split of '", config.task, "' is empty");
  return out;
}

namespace {
BatcherOptions batcher_options(const TrainConfig& config, const TaskData& data, int64_t pad_id) {
  BatcherOptions o;
  o.pad_id = pad_id;
  o.seed = static_cast<uint64_t>(config.seed);
  o.regression = data.spec.regression;
  o.choices_per_example = data.spec.multiple_choice ? 2 : 1;  // COPA: two choices
  return o;
}
}  // namespace

Batcher make_train_batcher(const TrainConfig& config, const TaskData& data, int64_t pad_id) {
  BatcherOptions o = batcher_options(config, data, pad_id);
  // Data parallel: the global micro-batch, of which this rank takes its shard (batcher.h).
  o.num_shards = dist::world_size();
  o.shard = dist::rank();
  o.batch_size = config.training.per_device_train_batch_size * o.num_shards;
  o.shuffle = true;
  o.group_by_length = config.training.group_by_length;
  return Batcher(data.train.examples, o);
}

Batcher make_eval_batcher(const TrainConfig& config, const TaskData& data, int64_t pad_id) {
  BatcherOptions o = batcher_options(config, data, pad_id);
  o.batch_size = config.training.per_device_eval_batch_size;
  return Batcher(data.dev.examples, o);
}

}  // namespace lightpeft
