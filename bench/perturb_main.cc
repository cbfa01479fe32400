// Writes planted duplicates of a real corpus and their labels (see
// perturb.h), for `newsdedup eval`:
//
//   ./build/newsdedup_perturb ../shared/data/bbc-2225.jsonl.zst
//       -o /tmp/planted.jsonl -l /tmp/planted-labels.jsonl
//   ./build/newsdedup eval ../shared/data/bbc-2225.jsonl.zst
//       /tmp/planted.jsonl -l /tmp/planted-labels.jsonl
// (each command on one line)
//
// The planted file holds only the new documents: scan it after the corpus.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "perturb.h"

int main(int argc, char** argv) {
  CLI::App app{"Plant perturbed copies of a corpus and write their labels."};
  std::vector<std::string> inputs;
  std::string out_docs, out_labels;
  newsdedup::bench::PlantOptions options;
  app.add_option("inputs", inputs, "the corpus (JSONL, text, .gz, .zst)")
      ->required();
  app.add_option("--output,-o", out_docs, "planted documents (JSONL)")
      ->required();
  app.add_option("--labels,-l", out_labels, "their labels (JSONL)")->required();
  app.add_option("--seed", options.seed, "random seed")->capture_default_str();
  app.add_option("--per-edit", options.per_edit,
                 "paragraph copies per edit tag")
      ->capture_default_str();
  app.add_option("--articles", options.articles, "syndicated article copies")
      ->capture_default_str();
  app.add_option("--negatives", options.negatives, "hard-negative articles")
      ->capture_default_str();
  app.add_option("--spliced", options.spliced,
                 "articles with a spliced passage")
      ->capture_default_str();
  app.add_option("--prefix", options.prefix, "id prefix of planted documents")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto corpus = newsdedup::bench::ReadCorpus(inputs);
  if (!corpus.ok()) {
    std::cerr << corpus.status().message() << "\n";
    return 1;
  }
  const newsdedup::bench::Planted planted =
      newsdedup::bench::Plant(*corpus, options);
  std::ofstream docs(out_docs, std::ios::binary);
  for (const auto& d : planted.docs) docs << newsdedup::bench::DocumentJson(d);
  docs.close();
  std::ofstream labels(out_labels, std::ios::binary);
  labels << newsdedup::bench::LabelsJsonl(planted.labels);
  labels.close();
  if (!docs || !labels) {
    std::cerr << "cannot write " << out_docs << " or " << out_labels << "\n";
    return 1;
  }
  std::cerr << "planted " << planted.docs.size() << " documents with "
            << planted.labels.labels.size() << " labels from " << corpus->size()
            << " corpus documents\n";
  return 0;
}
