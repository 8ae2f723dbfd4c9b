// Score the fold models: cross-validation (each fold model on its own test fold, with a folds
// table) or an independent test set (the averaged ensemble, without one).
process EVALUATE {
    tag "${meta.id}"
    label 'process_medium'

    input:
    path model, stageAs: 'model/*' // the fold<k> folders of one training run
    tuple val(meta), path(data), path(folds), path(embeddings) // folds/embeddings may be []

    output:
    path "${meta.id}", emit: results
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions
    tuple val("${task.process}"), val('torch'), eval('locflow versions torch'), emit: versions_torch, topic: versions
    tuple val("${task.process}"), val('transformers'), eval('locflow versions transformers'), emit: versions_transformers, topic: versions
    tuple val("${task.process}"), val('peft'), eval('locflow versions peft'), emit: versions_peft, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def folds_arg = folds ? "--folds ${folds}" : ''
    def embeddings_arg = embeddings ? "--embeddings ${embeddings}" : ''
    """
    # torch uses as many threads as the task has CPUs, not as the node has cores
    export OMP_NUM_THREADS=${task.cpus}
    locflow evaluate --model model --data ${data} ${folds_arg} ${embeddings_arg} --out ${meta.id} ${args}
    """

    stub:
    """
    mkdir -p ${meta.id}
    echo '{}' > ${meta.id}/metrics.json
    touch ${meta.id}/metrics.tsv ${meta.id}/predictions.parquet ${meta.id}/attention.h5
    """
}
