// Predict locations and sorting signals for a FASTA file with the ensemble of fold models.
process PREDICT {
    tag "${fasta.baseName}"
    label 'process_gpu'

    input:
    path fasta
    path model, stageAs: 'model/*' // the fold<k> folders of one training run

    output:
    path "predictions/${fasta.baseName}", emit: predictions
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions
    tuple val("${task.process}"), val('torch'), eval('locflow versions torch'), emit: versions_torch, topic: versions
    tuple val("${task.process}"), val('transformers'), eval('locflow versions transformers'), emit: versions_transformers, topic: versions
    tuple val("${task.process}"), val('peft'), eval('locflow versions peft'), emit: versions_peft, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    # torch uses as many threads as the task has CPUs, not as the node has cores
    export OMP_NUM_THREADS=${task.cpus}
    locflow predict ${fasta} --model model --out predictions/${fasta.baseName} ${args}
    """

    stub:
    """
    mkdir -p predictions/${fasta.baseName}
    cd predictions/${fasta.baseName}
    touch results.csv predictions.parquet attention.h5
    echo '{}' > summary.json
    """
}
