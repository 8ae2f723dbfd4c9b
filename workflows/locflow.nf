/*
 * The locflow pipeline: data -> homology partition -> k-fold training -> evaluation -> report,
 * and optionally predictions for a FASTA file. Every step is one `locflow` command.
 */
include { MAKE_DEMO_DATA  } from '../modules/local/make_demo_data'
include { FETCH_UNIPROT   } from '../modules/local/fetch_uniprot'
include { FETCH_HPA       } from '../modules/local/fetch_hpa'
include { PREDICT         } from '../modules/local/predict'
include { CURATE          } from '../subworkflows/local/curate'
include { PARTITION_FOLDS } from '../subworkflows/local/partition'
include { TRAIN_CV        } from '../subworkflows/local/train_cv'
include { EVALUATE_MODELS } from '../subworkflows/local/evaluate'

workflow LOCFLOW {
    main:
    // cnn, proteinbert and birnn are trained from scratch (locflow.models.registry): no weights needed.
    def from_scratch = ['cnn', 'proteinbert', 'birnn'].contains(params.backbone)
    if (!from_scratch && !params.checkpoint && !params.demo) {
        error("--backbone ${params.backbone} needs --checkpoint: a local folder with its pretrained weights")
    }
    // Inputs: the seeded demo data, local files, or downloads of pinned releases.
    ch_fasta = params.fasta ? channel.fromPath(params.fasta, checkIfExists: true) : channel.empty()
    if (params.demo instanceof String) {
        // a folder written earlier by `locflow make-demo-data --out DIR`
        ch_uniprot = channel.fromPath("${params.demo}/uniprot_sprot.dat", checkIfExists: true)
        ch_hpa = channel.fromPath("${params.demo}/subcellular_location.tsv", checkIfExists: true)
        ch_fasta = params.fasta ? ch_fasta : channel.fromPath("${params.demo}/proteome.fasta", checkIfExists: true)
    }
    else if (params.demo) {
        MAKE_DEMO_DATA()
        ch_uniprot = MAKE_DEMO_DATA.out.uniprot
        ch_hpa = MAKE_DEMO_DATA.out.hpa
        ch_fasta = params.fasta ? ch_fasta : MAKE_DEMO_DATA.out.fasta
    }
    else {
        ch_uniprot = params.uniprot
            ? channel.fromPath(params.uniprot, checkIfExists: true)
            : FETCH_UNIPROT(params.uniprot_release ?: '', params.uniprot_query ?: '').entries
        ch_hpa = params.skip_hpa
            ? channel.empty()
            : params.hpa
                ? channel.fromPath(params.hpa, checkIfExists: true)
                : FETCH_HPA(params.hpa_version ?: '').locations
    }
    ch_deeploc = params.deeploc
        ? channel.fromPath(params.deeploc, checkIfExists: true)
            .map { csv -> [csv, params.deeploc_signals ? file(params.deeploc_signals, checkIfExists: true) : []] }
        : channel.empty()
    // Pretrained weights are staged as a folder; a from-scratch backbone needs none.
    ch_checkpoint = params.checkpoint
        ? channel.value(file(params.checkpoint, checkIfExists: true))
        : channel.value([])

    CURATE(ch_uniprot, ch_hpa, ch_deeploc, params.deeploc as boolean)
    PARTITION_FOLDS(CURATE.out.proteins, CURATE.out.hpa, params.folds, params.threshold, params.search_chunks)
    TRAIN_CV(
        PARTITION_FOLDS.out.proteins,
        PARTITION_FOLDS.out.folds,
        PARTITION_FOLDS.out.test,
        params.backbone,
        ch_checkpoint,
        params.folds,
        params.finetune,
    )
    EVALUATE_MODELS(
        TRAIN_CV.out.models,
        CURATE.out.proteins,
        PARTITION_FOLDS.out.folds,
        TRAIN_CV.out.train_embeddings,
        PARTITION_FOLDS.out.test,
        TRAIN_CV.out.test_embeddings,
    )

    // Predictions with the ensemble of fold models, for --fasta (or the demo proteome).
    PREDICT(ch_fasta, TRAIN_CV.out.models)

    // One YAML of the tool versions every process reported on the `versions` topic, grouped by
    // process (nf-core's software_versions.yml).
    channel.topic('versions')
        .unique()
        .map { process, tool, version -> [process.tokenize(':').last(), "  ${tool}: ${version}"] }
        .groupTuple()
        .map { process, lines -> "${process}:\n${lines.unique().sort().join('\n')}" }
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", newLine: true, sort: true)

    emit:
    report = EVALUATE_MODELS.out.report
}
