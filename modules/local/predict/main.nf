// Predict locations and sorting signals for a FASTA file with the ensemble of fold models.
process PREDICT {
    tag "${fasta.baseName}"
    label 'process_gpu'

    input:
    path fasta
    path model, stageAs: 'model/*' // the fold<k> folders of one training run

    output:
    path "predictions/${fasta.baseName}", emit: predictions
    tuple val("${task.process}"), val('locflow'), eval('locflow --version | sed "s/^locflow //"'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow predict ${fasta} --model model --out predictions/${fasta.baseName} ${args}
    """

    stub:
    """
    mkdir -p predictions/${fasta.baseName}
    touch predictions/${fasta.baseName}/predictions.csv
    """
}
